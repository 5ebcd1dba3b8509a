import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { lockPath } from "../db/lock";
import { captureCli, freePort, onPostgres } from "./harness";
import { schedule2027 } from "./schedule-2027";
import { exitWithin, killStarted, startServiceWithDemo, STOP_TIMEOUT_MS, TEST_TIMEOUT, type Service } from "./service-process";

// The CLI's commands that read or import data, while a real service process holds the PGlite data directory:
// they go through its API with the caller's token and print what they print on the database. Each answer given
// through the service is compared with the same command's on the database once the service has stopped.
describe.skipIf(onPostgres)("the CLI's reading and importing commands through the running service", () => {
  const work = mkdtempSync(join(tmpdir(), "yunshen-cli-service-"));
  const dataDir = join(work, "data");
  const file = (name: string, content: string) => {
    const path = join(work, name);
    writeFileSync(path, content);
    return path;
  };
  const metrics = "vm,time,cpu,mem\nvm-web-01,2026-11-16T09:00:00+08:00,50,60\nvm-web-01,2026-11-16T10:00:00+08:00,70,40\nvm-db-01,2026-11-17T09:00:00+08:00,5,8\n";
  const badMetrics = "vm,time,cpu,mem\nvm web,2026-11-16T09:00:00+08:00,50,60\nvm-web-01,2026-11-16T10:00:00+08:00,170,40\n";
  let service: Service;
  let env: NodeJS.ProcessEnv = {};
  let tokens = new Map<string, string>();
  const as = (user: string) => ({ ...env, YUNSHEN_TOKEN: tokens.get(user) });
  /** What each command printed through the service, to compare with the database's answer after the stop. */
  const throughService = new Map<string, Awaited<ReturnType<typeof captureCli>>>();
  const reads: [string, string[]][] = [
    ["zhangwei", ["report", "monthly", "--month", "2026-11"]],
    ["guojun", ["report", "monthly", "--month", "2026-11", "--format", "csv"]],
    ["xufeng", ["report", "monthly", "--month", "2026-11", "--format", "csv", "--table", "lowload"]],
    ["lihua", ["calendar", "is-workday", "2026-02-14"]],
    ["lihua", ["calendar", "is-workday", "2026-02-15"]],
    ["lihua", ["calendar", "add-workdays", "2026-02-13", "2"]],
    ["lihua", ["calendar", "is-workday", "2026-02-30"]],
    ["lihua", ["calendar", "is-workday", "2031-01-01"]],
    ["zhangwei", ["audit", "verify"]],
    ["guojun", ["audit", "export", "--format", "jsonl"]],
    ["guojun", ["audit", "export", "--format", "csv"]],
  ];

  afterAll(() => {
    killStarted();
    rmSync(work, { recursive: true, force: true });
  });

  test("the demo is loaded while stopped; the service then holds the directory, and demo says to stop it first", { timeout: TEST_TIMEOUT }, async () => {
    ({ service, tokens, env } = await startServiceWithDemo(dataDir, await freePort()));
    expect(readFileSync(lockPath(dataDir), "utf8")).toBe(`${service.child.pid}\n`);

    const again = await captureCli(["demo"], as("zhoumin"));
    expect(again).toMatchObject({ code: 1, out: "" });
    expect(again.err).toContain(`数据目录 ${dataDir} 正被运行中的服务（进程 ${service.child.pid}）使用。yunshen demo 在服务启动前运行：请先停止服务`);
  });

  test("migrate says the service applied the migrations at its start, and succeeds", { timeout: TEST_TIMEOUT }, async () => {
    expect(await captureCli(["migrate"], env)).toEqual({
      code: 0,
      out: `数据库迁移已由运行中的服务（进程 ${service.child.pid}）在启动时完成，无需再次运行\n`,
      err: "",
    });
  });

  test("metrics import streams the file to the service: imported once, refused to an applicant, a bad file names its lines", { timeout: TEST_TIMEOUT }, async () => {
    const path = file("metrics.csv", metrics);
    const none = await captureCli(["metrics", "import", path], env);
    expect(none.code).toBe(1);
    expect(none.err).toContain("此命令改经服务的接口执行，需要评估实施单位、统筹管理单位或系统管理员的访问令牌");
    const refused = await captureCli(["metrics", "import", path], as("lihua"));
    expect(refused).toEqual({ code: 1, out: "", err: "利用率数据由评估实施单位（云服务商）、统筹管理单位或系统管理员导入\n" });
    expect(await captureCli(["metrics", "import", path], as("zhoumin"))).toEqual({ code: 0, out: "已导入 3 条采样：2 台虚拟机，2 个虚拟机日\n", err: "" });
    const twice = await captureCli(["metrics", "import", path], as("xufeng"));
    expect(twice.code).toBe(1);
    expect(twice.err).toMatch(/^该文件已导入过（SHA-256 [0-9a-f]{12}…），重复导入会重复计数\n$/);
    throughService.set("bad metrics", await captureCli(["metrics", "import", file("bad.csv", badMetrics)], as("zhoumin")));
    expect(throughService.get("bad metrics")).toEqual({
      code: 1,
      out: "",
      err: "2 行有误，未导入任何数据\n  第 2 行：vm 应为 1–64 位字母、数字、点、冒号、下划线或连字符\n  第 3 行：cpu 和 mem 应为 0–100 的百分比\n",
    });
    expect(await captureCli(["metrics", "import", join(work, "missing.csv")], as("zhoumin"))).toEqual({ code: 1, out: "", err: `无法读取文件 ${join(work, "missing.csv")}\n` });

    const day = await fetch(`http://127.0.0.1:${service.port}/api/metrics/vms/vm-web-01?from=2026-11-16&to=2026-11-16`, {
      headers: { authorization: `Bearer ${tokens.get("zhangwei")}` },
    });
    expect(((await day.json()) as { days: { cpuPeak: number; samples: number }[] }).days).toMatchObject([{ cpuPeak: 70, samples: 2 }]);
  });

  test("a year loaded through the service is in its calendar at once: is-workday asks the service", { timeout: TEST_TIMEOUT }, async () => {
    // 2027-02-08 is a Monday of the (fictitious) Spring Festival holiday.
    const before = await captureCli(["calendar", "is-workday", "2027-02-08"], as("lihua"));
    expect(before.code).toBe(1);
    expect(before.err).toContain("2027-02-08 超出已加载的工作日历");
    expect((await captureCli(["calendar", "load", file("2027.json", JSON.stringify(schedule2027))], as("zhoumin"))).code).toBe(0);
    expect(await captureCli(["calendar", "is-workday", "2027-02-08"], as("lihua"))).toEqual({ code: 0, out: "false\n", err: "" });
    expect(await captureCli(["calendar", "add-workdays", "2027-02-05", "1"], as("lihua"))).toEqual({ code: 0, out: "2027-02-15\n", err: "" });
    const none = await captureCli(["calendar", "is-workday", "2027-02-08"], env);
    expect(none.err).toContain("需要任一用户的访问令牌");
  });

  test("report, calendar and audit read through the service with the token of whom the API lets see it", { timeout: TEST_TIMEOUT }, async () => {
    for (const [user, argv] of reads) throughService.set(argv.join(" "), await captureCli(argv, as(user)));
    expect(throughService.get("calendar is-workday 2026-02-14")).toEqual({ code: 0, out: "true\n", err: "" });
    expect(throughService.get("calendar add-workdays 2026-02-13 2")).toEqual({ code: 0, out: "2026-02-24\n", err: "" });
    expect(JSON.parse(throughService.get("report monthly --month 2026-11")!.out)).toMatchObject({ month: "2026-11", units: expect.any(Array) });
    const verified = throughService.get("audit verify")!;
    expect(verified.code).toBe(0);
    // Checked here with this host's public key and anchor file, the ones the CLI uses on the database.
    expect(verified.out).toContain(`签名：`);
    expect(verified.out).toContain(`全部有效（公钥 ${join(dataDir, "audit-signing-key.pem")}）`);
    const jsonl = throughService.get("audit export --format jsonl")!;
    const entries = jsonl.out.trimEnd().split("\n");
    expect(jsonl.err).toBe(`已导出 ${entries.length} 条审计记录\n`);
    expect(entries.map((line) => (JSON.parse(line) as { action: string }).action)).toContain("metrics.import");
    expect(throughService.get("audit export --format csv")!.err).toBe(`已导出 ${entries.length} 条审计记录\n`);

    const applicant = await captureCli(["audit", "verify"], as("lihua"));
    expect(applicant).toEqual({ code: 1, out: "", err: "审计日志仅统筹管理单位和复核单位可以查看\n" });
    const none = await captureCli(["audit", "export"], env);
    expect(none.err).toContain("需要统筹管理单位或复核单位的访问令牌");
  });

  test("stopped, the database gives the same answers, and knows the file imported through the service", { timeout: TEST_TIMEOUT }, async () => {
    service.child.kill("SIGTERM");
    await exitWithin(service, STOP_TIMEOUT_MS);
    const db = { DATA_DIR: dataDir };
    for (const [, argv] of reads) {
      const key = argv.join(" ");
      const direct = await captureCli(argv, db);
      const before = throughService.get(key)!;
      // The log only grows (the refusals above are entries too): what the service exported begins what the
      // database exports now.
      if (argv[1] === "export") expect(direct.out.startsWith(before.out), key).toBe(true);
      else if (argv[1] === "verify") expect(direct.out.split("\n")[0], key).toMatch(/^审计日志完整：\d+ 条记录，哈希链校验通过$/);
      else expect(direct, key).toEqual(before);
    }
    expect(await captureCli(["metrics", "import", join(work, "bad.csv")], db)).toEqual(throughService.get("bad metrics"));
    const again = await captureCli(["metrics", "import", join(work, "metrics.csv")], db);
    expect(again.err).toMatch(/^该文件已导入过/);
    expect((await captureCli(["migrate"], db)).out).toBe("数据库迁移已完成\n");
  });
});
