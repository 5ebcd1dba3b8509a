import { describe, expect, test } from "vitest";
import { noticeCard, taskCard, type CardRequest } from "../cards";
import { buttonKey, fitText, parseButtonKey, renderMessage } from "../src/channels/wecom/render";

const request: CardRequest = {
  id: 12,
  code: "YS-2026-00012",
  title: "梅县区教育资助管理系统",
  unitName: "梅县区教育局",
  summary: [
    { label: "系统", value: "梅县区教育资助管理系统" },
    { label: "资源", value: "3 台 / 16 核 / 48G 内存 / 400G 存储" },
  ],
};
const stage = { name: "审批", approveLabel: "同意", canReject: true, canReturn: true, canFail: false, deadlineText: "2026-11-26 前（3 个工作日）" };
const token = "AbCdEfGhIjKlMnOp";

describe("WeCom rendering", () => {
  test("a task card is a button_interaction card with the request's key facts and the task's token on every button", () => {
    const body = renderMessage(taskCard(request, stage), { touser: "ZhangWei", outboxId: 7, token, detailUrl: () => null }) as any;
    expect(body.msgtype).toBe("template_card");
    const card = body.template_card;
    expect(card.card_type).toBe("button_interaction");
    expect(card.task_id).toBe("ys-7");
    expect(card.main_title).toEqual({ title: "待处理：审批", desc: "YS-2026-00012" });
    expect(card.horizontal_content_list).toEqual([
      { keyname: "单位", value: "梅县区教育局" },
      { keyname: "系统", value: "梅县区教育资助管理系统" },
      { keyname: "资源", value: "3 台 / 16 核 / 48G 内存 / 400G 存储" },
      { keyname: "环节", value: "审批" },
      { keyname: "期限", value: "2026-11-26 前（3 个工作日）" },
      { keyname: "详情", value: "回复「查询 YS-2026-00012」" },
    ]);
    expect(card.button_list).toEqual([
      { text: "同意", style: 1, key: `ys1:approve:${token}` },
      { text: "驳回", style: 2, key: `ys1:reject:${token}` },
      { text: "退回", style: 3, key: `ys1:return:${token}` },
    ]);
  });

  test("notices are text_notice cards with a link, plain text without one", () => {
    const notice = noticeCard(request, "申请已办结", "全部环节已完成", "success");
    const linked = renderMessage(notice, { touser: "u", outboxId: 2, token: null, detailUrl: () => "https://x/y" }) as any;
    expect(linked.template_card).toMatchObject({ card_type: "text_notice", card_action: { type: 1, url: "https://x/y" }, source: { desc_color: 3 } });
    const plain = renderMessage(notice, { touser: "u", outboxId: 3, token: null, detailUrl: () => null }) as any;
    expect(plain.text.content).toContain("【申请已办结】全部环节已完成");
    expect(plain.text.content).not.toContain("可选操作");
  });

  test("after 退回 the applicant's 重新提交 opens the form on the portal instead of calling back (issue 12)", () => {
    const revise = { name: "修改后重新提交", approveLabel: "重新提交", canReject: false, canReturn: false, canFail: false, deadlineText: null, onForm: true };
    const card = taskCard(request, revise, "黄敏在「县级数据局初审」退回：请补充迁移方案");
    expect(card.actions).toEqual([]);
    const pageUrl = (path: string) => `https://yunshen.example.gov.cn${path}`;
    const body = renderMessage(card, { touser: "LiHua", outboxId: 9, token, detailUrl: () => null, pageUrl }) as any;
    expect(body.template_card.card_type).toBe("button_interaction");
    expect(body.template_card.sub_title_text).toContain("请补充迁移方案");
    expect(body.template_card.button_list).toEqual([{ type: 1, text: "重新提交", style: 1, url: "https://yunshen.example.gov.cn/requests/YS-2026-00012/edit" }]);
    // Without a public address there is no page to open: the card says where, and asks nothing it cannot take.
    const plain = renderMessage(card, { touser: "LiHua", outboxId: 10, token, detailUrl: () => null, pageUrl: () => null }) as any;
    expect(plain.msgtype).toBe("text");
    expect(plain.text.content).toContain("重新提交：在网页端打开 /requests/YS-2026-00012/edit");
    expect(plain.text.content).not.toContain("可选操作");
  });

  test("button keys round-trip and anything else is refused", () => {
    expect(parseButtonKey(buttonKey("fail", token))).toEqual({ action: "fail", token });
    for (const key of ["", "ys1:approve:short", "ys2:approve:AbCdEfGhIjKlMnOp", "ys1:delete:AbCdEfGhIjKlMnOp", `ys1:approve:${token}x`])
      expect(parseButtonKey(key), key).toBeNull();
  });

  test("text is cut to 2048 bytes on a character boundary", () => {
    const long = "审".repeat(1000); // 3000 bytes
    const cut = fitText(long);
    expect(Buffer.byteLength(cut, "utf8")).toBeLessThanOrEqual(2048);
    expect(cut.endsWith("…")).toBe(true);
    expect(cut.slice(0, -1)).toBe("审".repeat(681));
    expect(fitText("短")).toBe("短");
  });
});
