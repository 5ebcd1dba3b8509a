import { describe, expect, test } from "vitest";
import { BarChart, barLayout, formatValue, LineChart, lineLayout, niceScale } from "../src/channels/web/charts";

// The portal's charts (issue 12: the monthly report, the ledger's daily utilisation) are SVG drawn on the server.
// What a reader relies on is the geometry: a bar twice the value is twice as long, a point sits at its value on
// the axis, and the axis labels are round numbers; and that the figures are there as text too.

const html = async (node: { toString(): string | Promise<string> }) => String(await node.toString());

describe("the axis", () => {
  test("a round step and a top at or just above the largest value", () => {
    expect(niceScale(37)).toEqual({ max: 40, step: 10, ticks: [0, 10, 20, 30, 40] });
    expect(niceScale(40)).toEqual({ max: 40, step: 10, ticks: [0, 10, 20, 30, 40] });
    expect(niceScale(9)).toEqual({ max: 10, step: 2.5, ticks: [0, 2.5, 5, 7.5, 10] });
    expect(niceScale(0.3).max).toBeCloseTo(0.3);
    expect(niceScale(1234)).toMatchObject({ max: 1500, step: 500 });
  });

  test("percentages run to 100 whatever the data; an all-zero series still has an axis", () => {
    expect(niceScale(7, 4, 100)).toEqual({ max: 100, step: 25, ticks: [0, 25, 50, 75, 100] });
    expect(niceScale(0)).toEqual({ max: 4, step: 1, ticks: [0, 1, 2, 3, 4] });
  });

  test("labels show at most one decimal and no trailing zero", () => {
    expect(formatValue(12)).toBe("12");
    expect(formatValue(12.04, "%")).toBe("12%");
    expect(formatValue(7.25, "%")).toBe("7.3%");
    expect(formatValue(null)).toBe("—");
  });
});

describe("bar chart", () => {
  const bars = [
    { label: "梅州市梅县区教育局", value: 10 },
    { label: "兴宁市公安局", value: 20 },
    { label: "梅州市人力资源和社会保障局", value: 35, warn: true },
  ];

  test("bar lengths are proportional to the values, on the axis's scale", () => {
    const layout = barLayout(bars);
    expect(layout.scale.max).toBe(40);
    const [a, b, c] = layout.bars;
    expect(b!.width / a!.width).toBeCloseTo(2);
    expect(c!.width / a!.width).toBeCloseTo(3.5);
    expect(c!.width).toBeCloseTo((35 / 40) * layout.plot.width);
    // The tick for 20 sits exactly where the 20 bar ends.
    expect(layout.ticks.find((t) => t.value === 20)!.x).toBeCloseTo(b!.x + b!.width);
    // One row per bar, none overlapping.
    expect(b!.y).toBeGreaterThanOrEqual(a!.y + a!.height);
  });

  test("a value over a fixed maximum is drawn to the edge, not past it; a negative one as zero", () => {
    const layout = barLayout([{ label: "甲", value: 130 }, { label: "乙", value: -5 }], { max: 100 });
    expect(layout.bars[0]!.width).toBe(layout.plot.width);
    expect(layout.bars[1]!.width).toBe(0);
  });

  test("the SVG names itself, labels the axis and the bars in Chinese, writes every value, and lists them in a table", async () => {
    const out = await html(BarChart({ id: "units", title: "各单位虚拟机数量", bars, unit: "台" }));
    expect(out).toContain('role="img"');
    expect(out).toContain('aria-labelledby="units-title units-desc"');
    expect(out).toContain('<title id="units-title">各单位虚拟机数量</title>');
    expect(out).toContain('<desc id="units-desc">梅州市梅县区教育局 10台；兴宁市公安局 20台；梅州市人力资源和社会保障局 35台</desc>');
    for (const tick of ["0台", "10台", "20台", "30台", "40台"]) expect(out).toContain(`>${tick}</text>`);
    // A long name is shortened on the bar and given whole in the bar's title and the table.
    expect(out).toContain(">梅州市人力资源和社会保…</text>");
    expect(out).toContain("<title>梅州市人力资源和社会保障局：35台</title>");
    expect(out).toContain('fill="#fa5151"');
    expect(out).toContain('<th scope="row">梅州市人力资源和社会保障局</th><td>35台</td>');
    expect(out).not.toContain("<script");
  });

  test("labels are escaped, so a unit's name cannot inject markup", async () => {
    const out = await html(BarChart({ id: "x", title: "测试", bars: [{ label: "<script>alert(1)</script>", value: 1 }] }));
    expect(out).not.toContain("<script>");
    expect(out).toContain("&lt;script&gt;");
  });

  test("no bars: says so instead of drawing an empty frame", async () => {
    const out = await html(BarChart({ id: "none", title: "低负载虚拟机", bars: [] }));
    expect(out).toContain("暂无数据");
    expect(out).not.toContain("<svg");
  });
});

describe("line chart", () => {
  const labels = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"];
  const series = [
    { name: "CPU 峰值", values: [80, 60, null, 40, 20] },
    { name: "CPU 平均", values: [40, 30, null, 20, 10] },
  ];

  test("points sit at their value on the y axis and evenly along x; a missing day breaks the line", () => {
    const layout = lineLayout(labels, series, { max: 100, unit: "%" });
    const { plot } = layout;
    const [peak, avg] = layout.lines;
    expect(peak!.runs.map((r) => r.length)).toEqual([2, 2]);
    const first = peak!.runs[0]![0]!;
    expect(first.x).toBe(plot.left);
    expect(first.y).toBeCloseTo(plot.top + plot.height * (1 - 0.8));
    const last = peak!.runs[1]![1]!;
    expect(last.x).toBeCloseTo(plot.left + plot.width);
    expect(plot.top + plot.height - last.y).toBeCloseTo((20 / 100) * plot.height);
    // The average at half the peak is half as high above the axis.
    expect(plot.top + plot.height - avg!.runs[0]![0]!.y).toBeCloseTo((plot.top + plot.height - first.y) / 2);
    expect(layout.yTicks.map((t) => t.label)).toEqual(["0%", "25%", "50%", "75%", "100%"]);
    expect(layout.xTicks.map((t) => t.label)).toEqual(labels);
  });

  test("a month of days labels an even spread that keeps the first and the last day", () => {
    const days = Array.from({ length: 30 }, (_, i) => `2026-11-${String(i + 1).padStart(2, "0")}`);
    const layout = lineLayout(days, [{ name: "峰值", values: days.map((_, i) => i) }]);
    expect(layout.xTicks.length).toBeLessThanOrEqual(8);
    expect(layout.xTicks[0]!.label).toBe("2026-11-01");
    expect(layout.xTicks.at(-1)!.label).toBe("2026-11-30");
    expect(layout.scale).toEqual({ max: 30, step: 10, ticks: [0, 10, 20, 30] });
  });

  test("the SVG has a title, a description with each series's range, a legend, and a table of every day", async () => {
    const out = await html(LineChart({ id: "vm1", title: "vm-web-01 每日 CPU 利用率", labels, series, unit: "%", max: 100 }));
    expect(out).toContain('<title id="vm1-title">vm-web-01 每日 CPU 利用率</title>');
    expect(out).toContain("2026-11-01 至 2026-11-05，CPU 峰值最高 80%、最低 20%；CPU 平均最高 40%、最低 10%");
    expect(out).toContain(">CPU 峰值</text>");
    expect(out).toContain("<polyline");
    expect(out).toContain("<title>2026-11-04 CPU 峰值：40%</title>");
    expect(out).toContain('<th scope="row">2026-11-03</th><td>—</td><td>—</td>');
  });
});
