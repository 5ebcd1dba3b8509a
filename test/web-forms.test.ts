import { parseBody } from "hono/utils/body";
import { describe, expect, test } from "vitest";
import { applicationFormSchema } from "../flows/application/form";
import type { Actor } from "../src/core/context";
import {
  applicationForm,
  applyRowCommand,
  checkForm,
  FORM_KEY,
  formsFor,
  readValues,
  serviceFieldMessages,
  toInput,
  valuesFromInput,
  webForm,
  type FormBody,
  type FormMessages,
} from "../src/channels/web/forms";
import { sampleForm } from "./app-harness";

// The web's forms (issue 12): labelled as the official forms are, read from a browser's body into the flow's
// input, and every complaint worded for a person next to its field.

/** A body as the browser posts it, through Hono's own parser. */
async function posted(fields: [string, string][], multipart = false): Promise<FormBody> {
  const body = multipart ? new FormData() : new URLSearchParams();
  for (const [k, v] of fields) body.append(k, v);
  return (await parseBody(new Request("http://x/", { method: "POST", body }), { all: true })) as FormBody;
}

/** A filled-in 云资源申请 as the page would post it, with these fields changed. */
function applicationBody(changes: Record<string, string> = {}): [string, string][] {
  const values = valuesFromInput(applicationForm, sampleForm());
  const pairs: [string, string][] = Object.entries(values.fields).map(([k, v]) => [k, String(v)]);
  values.rows.vms!.forEach((row, i) => pairs.push(...Object.entries(row).map(([k, v]): [string, string] => [`vms[${i}].${k}`, v])));
  const map = new Map(pairs);
  for (const [k, v] of Object.entries(changes)) map.set(k, v);
  return [...map.entries()];
}

async function messagesFor(key: string, fields: [string, string][]): Promise<FormMessages> {
  const form = webForm(key)!;
  const checked = checkForm(form, readValues(form, await posted(fields)));
  expect(checked.ok).toBe(false);
  return checked.ok ? {} : checked.messages;
}

// zod's own wording (zh-CN locale) and codes of the schema: neither may reach a person.
const NOT_FOR_PEOPLE = /期望|无效|应为以下之一|必填|gov_extranet|same_city|[A-Za-z]+_[a-z]+|undefined|NaN/;

describe("reading a posted 云资源申请", () => {
  test("a stored form shown as values and read back is the same form, so a returned request reopens as it was", () => {
    const { attachments: _, ...form } = sampleForm();
    const input = toInput(applicationForm, valuesFromInput(applicationForm, form));
    expect(applicationFormSchema.parse(input)).toEqual(applicationFormSchema.parse(form));
    expect(valuesFromInput(applicationForm, form).fields.networkZone).toBe("gov_extranet");
    expect(valuesFromInput(applicationForm, form).rows.vms![1]).toMatchObject({ "backup.type": "database", "backup.copies": "same_city" });
  });

  test("VM rows by index, blank and spare rows dropped, full-width digits read, a VM without backup has none", async () => {
    for (const multipart of [false, true]) {
      const body = await posted(
        [
          ["systemName", "梅县区教育资助管理系统"],
          ["vms[3].purpose", "数据库服务器"],
          ["vms[3].vcpu", "８"],
          ["vms[3].memoryGb", "32"],
          ["vms[3].quantity", "1"],
          ["vms[3].backup.type", "database"],
          ["vms[3].backup.copies", "off_site"],
          ["vms[3].backup.strategy", "每日 02:00 全量"],
          ["vms[0].purpose", "应用服务器"],
          ["vms[0].vcpu", "4"],
          ["vms[0].quantity", "2"],
          ["vms[0].backup.type", ""],
          ["vms[1].quantity", "1"], // the no-JS form's spare row: only what a new row starts with
          ["vms[2].purpose", "  "],
          ["vms[9].unknown", "x"],
          ["hosting[0].device", "华为 TaiShan 200"],
          ["hosting[0].rackUnits", "2"],
          ["hosting[0].quantity", "1"],
          ["hosting[1].quantity", "1"], // a spare row of 托管设备
        ],
        multipart,
      );
      const values = readValues(applicationForm, body);
      expect(values.rows.vms!.map((r) => r.purpose)).toEqual(["应用服务器", "数据库服务器"]);
      const input = toInput(applicationForm, values) as any;
      expect(input.systemName).toBe("梅县区教育资助管理系统");
      expect(input.hosting).toEqual([{ device: "华为 TaiShan 200", rackUnits: 2, quantity: 1 }]);
      expect(input.vms[0]).toEqual({ purpose: "应用服务器", vcpu: 4, quantity: 2 });
      expect(input.vms[1]).toEqual({
        purpose: "数据库服务器",
        vcpu: 8,
        memoryGb: 32,
        quantity: 1,
        backup: { type: "database", copies: "off_site", strategy: "每日 02:00 全量" },
      });
      expect(input.plan).toEqual({}); // nothing typed: the schema asks for it, nothing is made up
      expect(input.contact).toEqual({});
    }
  });

  test("a complete form checks out, its output what the engine takes (defaults applied)", async () => {
    const checked = checkForm(applicationForm, readValues(applicationForm, await posted(applicationBody())));
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect((checked.data as any).vms[0]).toMatchObject({ storageType: "高性能云盘", ports: "80,443", quantity: 2 });
    expect((checked.data as any).vms[1].backup.retentionMonths).toBe(2); // 002 附件1: 默认 2 个月
  });

  test("添加一行 and 删除 without JavaScript", async () => {
    const body = await posted([...applicationBody(), ["_row", "add:vms"]]);
    const added = applyRowCommand(applicationForm, body, readValues(applicationForm, body))!;
    expect(added.rows.vms).toHaveLength(3);
    expect(added.rows.vms![2]).toMatchObject({ purpose: "", quantity: "1" });
    const removeBody = await posted([...applicationBody(), ["_row", "remove:vms:0"]]);
    const removed = applyRowCommand(applicationForm, removeBody, readValues(applicationForm, removeBody))!;
    expect(removed.rows.vms!.map((r) => r.purpose)).toEqual(["数据库服务器"]);
    expect(applyRowCommand(applicationForm, await posted(applicationBody()), readValues(applicationForm, body))).toBeNull();
    expect(applyRowCommand(applicationForm, await posted([["_row", "add:nothing"]]), added)).toBeNull();
  });
});

describe("messages next to each field, in plain words", () => {
  test("请填写系统名称, 联系电话格式不正确, numbers out of range with their unit, a choice not made", async () => {
    const m = await messagesFor(
      "application",
      applicationBody({
        systemName: "",
        "contact.mobile": "0753-1234",
        "maintainer.mobile": "138",
        networkZone: "",
        "vms[0].diskGb": "-100",
        "vms[0].vcpu": "四",
        "vms[0].memoryGb": "4096",
        "vms[1].purpose": "",
        "vms[1].backup.strategy": "",
        "contact.email": "lihua@",
      }),
    );
    expect(m).toEqual({
      systemName: "请填写系统名称",
      "contact.mobile": "联系电话格式不正确，应为 11 位手机号",
      "contact.email": "E-mail 格式不正确",
      "maintainer.mobile": "维护负责人联系电话格式不正确，应为 11 位手机号",
      networkZone: "请选择网络区域",
      "vms[0].vcpu": "vCPU应为整数",
      "vms[0].memoryGb": "内存不能大于 2048 GB",
      "vms[0].diskGb": "系统盘/数据盘不能小于 0 GB",
      "vms[1].purpose": "请填写用途",
      "vms[1].backup.strategy": "请填写备份策略",
    });
    for (const text of Object.values(m)) expect(text).not.toMatch(NOT_FOR_PEOPLE);
  });

  test("the flow's own rules keep their words, on the field they are about", async () => {
    expect(await messagesFor("application", applicationBody({ networkZone: "other" }))).toEqual({ networkZoneNote: "网络区域为“其他”时请说明" });
    const m = await messagesFor("application", applicationBody({ "vms[0].backup.strategy": "每周全量", "vms[0].ports": "80,70000" }));
    expect(m).toEqual({
      "vms[0].backup.type": "请选择备份数据类型", // a strategy without a type: a backup half asked for
      "vms[0].backup.copies": "请选择数据副本",
      "vms[0].ports": "端口应在 1–65535 之间",
    });
    // Every VM row emptied: the rows are blank, so none is asked for at all.
    const emptied = Object.fromEntries(applicationBody().filter(([k]) => k.startsWith("vms[")).map(([k]) => [k, ""]));
    const none = await messagesFor("application", applicationBody(emptied));
    expect(none).toEqual({ vms: "至少申请一项资源（虚拟机、PaaS、托管、带宽、公网 IP 或安全服务）" });
  });

  test("端口与访问地址开放申请: the item at fault named, 有效期 asked for once", async () => {
    const base: [string, string][] = [
      ["hosts", "mx-app-01\nmx-db-01"],
      ["reason", "对外提供服务"],
    ];
    expect(
      await messagesFor("port_grant", [...base, ["ports", "443, abc"], ["sources", "10.1.0.0/16\n10.0.0.0/4"], ["validity.workdays", "10"], ["validity.until", "2026-12-31"]]),
    ).toEqual({
      ports: "「abc」端口格式不正确，如：80, 443/tcp, 53/udp",
      sources: "「10.0.0.0/4」网段过大（不小于 /8），请按最小权限写明来源",
      "validity.workdays": "请只填写有效期的工作日数或截止日期之一",
    });
    expect(await messagesFor("port_grant", [...base, ["ports", "443"], ["sources", "10.1.0.0/16"]])).toEqual({ "validity.workdays": "请填写有效期" });
    expect(await messagesFor("port_grant", [...base, ["ports", "443"], ["sources", "10.1.0.0/16"], ["validity.workdays", "0"]])).toEqual({
      "validity.workdays": "有效期不能小于 1 个工作日",
    });
    expect(await messagesFor("port_grant", [["ports", ""], ["sources", ""], ["hosts", ""], ["reason", ""], ["validity.workdays", "5"]])).toEqual({
      hosts: "请填写主机",
      ports: "请填写端口",
      sources: "请填写来源地址",
      reason: "请填写开放理由",
    });
  });

  test("the other forms: 撤销 without a resource, 扩容 without a target, 备份 and 年度需求 with bad numbers", async () => {
    expect(await messagesFor("revocation", [["reason", "系统下线"]])).toEqual({ resources: "请至少选择一项资源" });
    expect(await messagesFor("adjustment", [["direction", "up"], ["resource", "3"], ["reason", "负载高"]])).toEqual({
      "to.vcpu": "请写明调整后的配置",
    });
    expect(await messagesFor("backup", [["resource", "3"], ["type", "file"], ["copies", "local"], ["strategy", "每日"], ["retentionMonths", "0"]])).toEqual({
      retentionMonths: "数据保存周期不能小于 1 个月",
    });
    expect(await messagesFor("demand", [["year", "2027"], ["vcpu", "1.5"], ["memoryGb", ""], ["storageGb", "10"]])).toEqual({
      vcpu: "vCPU应为整数",
      memoryGb: "请填写内存",
    });
    expect(await messagesFor("vm_account", [["kind", "new"], ["holder", "lihua"], ["account", "Li Hua"], ["hosts", "mx-app-01"], ["reason", "运维"], ["ports", "22"]])).toEqual({
      account: "账号名格式不正确：小写字母或下划线开头，最多 32 位小写字母、数字、下划线或连字符",
      "validity.workdays": "新开和续期需要有效期",
      sources: "开放端口须写明来源地址",
      portReason: "开放端口须说明理由",
    });
  });

  test("a character no text may hold is named on its field, as the API names it", async () => {
    const m = await messagesFor("application", applicationBody({ systemName: "教育\u202E系统" }));
    expect(m.systemName).toContain("双向文本控制字符");
  });

  test("a refusal's fields land on the form's fields, without the codes API clients get", () => {
    const form = webForm("vm_account")!;
    expect(serviceFieldMessages(form, { "form.holder": ["用户不存在或已停用"], "form.hosts": ["mx-9"] })).toEqual({ holder: "用户不存在或已停用", hosts: "mx-9" });
    expect(serviceFieldMessages(applicationForm, { "form.attachments": ["缺少「存储需求超过 500G 的书面说明」（purpose: storage_explanation）"] })).toEqual({
      attachments: "缺少「存储需求超过 500G 的书面说明」",
    });
    expect(serviceFieldMessages(applicationForm, { "form.attachments[0].fileId": ["文件 f_x 不存在或不是本单位上传的，请重新上传"] })).toEqual({
      "attachments[0].fileId": "文件 f_x 不存在或不是本单位上传的，请重新上传",
    });
    expect(serviceFieldMessages(applicationForm, { "form.nothing": ["x"] })).toEqual({ [FORM_KEY]: "x" });
    expect(serviceFieldMessages(applicationForm, { "form.vms[1].os": ["请填写操作系统"] })).toEqual({ "vms[1].os": "请填写操作系统" });
  });
});

describe("labels and options", () => {
  const actor = (roles: Actor["roles"]): Actor => ({ userId: "u", name: "u", unitId: "x", roles });

  test("the official forms' words, options by label, never a code as a label", () => {
    const labels = applicationForm.sections.flatMap((s) => [...(s.fields ?? []), ...(s.rows?.fields ?? [])].map((f) => f.label));
    for (const label of ["系统名称", "联系人", "联系电话", "网络区域", "用途", "vCPU(核)", "内存(GB)", "系统盘/数据盘(GB)", "存储类型", "操作系统", "数量", "备份"])
      expect(labels).toContain(label);
    const zone = applicationForm.sections.flatMap((s) => s.fields ?? []).find((f) => f.name === "networkZone")!;
    expect(zone.options!.map((o) => o.label)).toEqual(["政务外网", "互联网", "其他"]);
    for (const form of [applicationForm, webForm("vm_account")!, webForm("backup")!])
      for (const f of form.sections.flatMap((s) => [...(s.fields ?? []), ...(s.rows?.fields ?? [])]))
        for (const o of f.options ?? []) expect(o.label).not.toMatch(/[a-z_]{3,}/);
  });

  test("each person sees the forms their role may start", () => {
    const keys = (roles: Actor["roles"]) => formsFor(actor(roles)).map((f) => f.key);
    expect(keys(["applicant"])).toEqual(["application", "adjustment", "purpose_change", "backup", "revocation", "vm_account", "port_grant", "demand"]);
    expect(keys(["provider"])).toEqual(["adjustment", "revocation"]);
    expect(keys(["security_officer"])).toEqual(["vm_account", "port_grant"]);
    expect(keys(["manager"])).toEqual([]);
  });
});
