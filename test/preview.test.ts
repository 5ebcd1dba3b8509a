import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { coveredByPlan, createTestApp, ok, rowCounts, sampleForm, type TestApp } from "./app-harness";

// 预览 (issue 12): before submitting, who will decide each stage and by which date, in working days from today.

const preview = (t: TestApp, user: string, body: unknown) => t.call(user, "POST", "/api/requests/preview", body);
const dates = (p: any) => p.stages.map((s: any) => [s.name, s.by]);
const people = (s: any) => s.parties.flatMap((p: any) => p.people.map((u: any) => `${u.name}（${u.unitName}）`));

describe("preview of a 梅州 云资源申请", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ now: "2026-09-30T01:00:00Z" }); // Wednesday 09:00, the day before 国庆
  });
  afterAll(() => t.close());

  test("filed the day before 国庆: the county bureau first, dates skip 10-01..07 and count the 10-10 调休 Saturday", async () => {
    const before = await rowCounts(t.db);
    const p = ok(await preview(t, "lihua", { flow: "application", form: sampleForm() }));
    expect(await rowCounts(t.db)).toEqual(before);

    expect(p).toMatchObject({ flowName: "云资源申请", title: "梅县区教育资助管理系统", unitName: "梅州市梅县区教育局", from: "2026-09-30" });
    // 004 第十二条(一): a county unit's request passes its county bureau, 1 wd; storage 400 GB ≤ 500, no 共同审核.
    expect(p.stages[0]).toMatchObject({ stage: "county_review", span: "1 个工作日", mode: "any" });
    expect(people(p.stages[0])).toEqual(["黄敏（梅州市梅县区政务服务数据管理局）"]);
    expect(p.stages[0].parties[0].partyName).toBe("县级政务服务数据管理局");
    expect(people(p.stages[1])).toEqual(["林娜（政务云梅州节点运营商（数字广东））", "徐峰（政务云梅州节点运营商（数字广东））"]);
    expect(people(p.stages[2])).toEqual(["陈静（梅州市政务服务数据管理局）", "张伟（梅州市政务服务数据管理局）"]);
    // Counted by hand on the State Council's 2026 schedule, each stage taking its full time after the one before.
    expect(dates(p)).toEqual([
      ["县级数据局初审", "2026-10-08"], // 1 wd: 10-01..07 are 国庆
      ["需求评估", "2026-10-12"], // 3 wd: Fri 10-09, Sat 10-10 (国庆节调休上班), Mon 10-12
      ["审批", "2026-10-15"],
      ["资源开通", "2026-10-20"],
      ["备份有效性核验", "2026-10-20"], // the same day (004 第三十一条): the database server asks for a backup
      ["使用单位确认资源", "2026-10-23"],
      ["发放核查", "2026-10-27"],
      ["系统部署", "2026-11-17"], // 20 wd from the delivery on 10-20, not from 发放核查 (004 第十七条(一))
      ["申请上线前安全检测", "2026-11-19"],
      ["安全检测", "2026-11-26"],
      ["系统上线", "2026-11-30"],
    ]);
    expect(p.stages[0].deadlineAt).toBe("2026-10-08T15:59:59.999Z"); // the end of the day in Shanghai
  });

  test("a city unit filed the day before 春节 starts at the provider and counts the 02-14 and 02-28 调休 Saturdays", async () => {
    t.clock.set("2026-02-13T01:00:00Z"); // Friday; 春节 2026-02-15..23
    const p = ok(await preview(t, "yangfan", { flow: "application", form: sampleForm() }));
    expect(p.unitName).toBe("梅州市人力资源和社会保障局");
    expect(dates(p).slice(0, 3)).toEqual([
      ["需求评估", "2026-02-25"], // Sat 02-14 (春节调休上班), Tue 02-24, Wed 02-25
      ["审批", "2026-02-28"], // Thu 02-26, Fri 02-27, Sat 02-28 (春节调休上班)
      ["资源开通", "2026-03-04"],
    ]);
    t.clock.set("2026-09-30T01:00:00Z");
  });

  test("storage over 500 GB adds the 会签 of manager and provider; no backup asked, no backup check", async () => {
    const form = sampleForm();
    form.vms[1].diskGb = 500;
    delete form.vms[1].backup;
    form.attachments.push(await t.attachment("yangfan", "storage_explanation"));
    const p = ok(await preview(t, "yangfan", { flow: "application", form: coveredByPlan(form) }));
    const review = p.stages.find((s: any) => s.stage === "storage_review");
    expect(review).toMatchObject({ name: "大容量存储共同审核", mode: "all" });
    expect(review.parties.map((x: any) => x.partyName)).toEqual(["统筹管理单位", "评估实施单位（云服务商）"]);
    expect(p.stages.map((s: any) => s.stage)).not.toContain("backup_check");
  });

  test("deadlines past the loaded calendar are pending, not guessed", async () => {
    t.clock.set("2026-12-21T01:00:00Z");
    const p = ok(await preview(t, "lihua", { flow: "application", form: sampleForm() }));
    const deploy = p.stages.find((s: any) => s.stage === "deploy");
    expect(deploy).toMatchObject({ by: null, pending: true }); // 20 wd from late December falls in 2027
    expect(p.stages.at(-1)).toMatchObject({ by: null, pending: true });
    expect(p.stages[0]).toMatchObject({ by: "2026-12-22", pending: false });
    t.clock.set("2026-09-30T01:00:00Z");
  });

  test("an invalid form: the same field errors as submission, and nothing written", async () => {
    const form = sampleForm();
    form.systemName = "";
    form.contact.mobile = "12345";
    form.vms[0].vcpu = 0;
    const before = await rowCounts(t.db);
    const previewed = await preview(t, "lihua", { flow: "application", form });
    expect(await rowCounts(t.db)).toEqual(before);
    const submitted = await t.submit("lihua", form);
    expect(previewed.status).toBe(400);
    expect(previewed).toEqual(submitted);
    expect(Object.keys(previewed.body.error.fields).sort()).toEqual(["form.contact.mobile", "form.systemName", "form.vms[0].vcpu"]);
  });

  test("a rule of the flow (a missing document) refuses the preview as it refuses the submission, unaudited", async () => {
    const form = sampleForm();
    form.vms[1].diskGb = 500; // 700 GB in all, no written explanation attached (004 第十三条(二)4)
    const before = await rowCounts(t.db);
    const previewed = await preview(t, "lihua", { flow: "application", form });
    expect(await rowCounts(t.db)).toEqual(before);
    expect(previewed.status).toBe(422);
    expect(previewed).toEqual(await t.submit("lihua", form));
  });

  test("someone who may not submit the flow is refused, and the refusal writes nothing", async () => {
    const before = await rowCounts(t.db);
    const res = await preview(t, "zhangwei", { flow: "application", form: sampleForm() });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toBe("只有使用单位的申请人可以提交申请");
    expect(await rowCounts(t.db)).toEqual(before);
  });
});
