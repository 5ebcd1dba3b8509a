import type { ApplicationFacts } from "../../flows/application/definition";
import type { FlowStep } from "../../flows/types";
import { PROFILES, type ProfileKey } from "../../profiles";
import { shanghaiDate } from "../core/calendar";
import { REVOCATION_TRIGGERS, revocationTitle, type ResourceMilestone, type RevocationFacts } from "../resources/catalog";
import { busyResources, lockResources } from "../resources/claims";
import { describeResource } from "../resources/revocation";
import { partyUsers } from "./stages";
import { notifyAbout } from "./step";
import { openRequest } from "./submit";

/**
 * 002 第二十一条 (ProfileModule.reapplication): "涉及重大变更的，须按本办法第十九条规定重新申请，有关工作完成后，原申请的
 * 资源应予以注销回收". When a 云资源申请 that names the resources it replaces (ApplicationFacts.replaces) reaches the
 * profile's moment (韶关: 上线), a revocation of those resources opens in the same transaction, the unit's own
 * (trigger "major_change"), as the provider's proposals and an emergency's refused 事后审批 open theirs. It then
 * runs the profile's revocation sequence: under 韶关 the unit first takes the old system offline and migrates its
 * data (002 第二十二条), the manager reviews, the provider reclaims. Resources since revoked, moved to another
 * unit or already in another change are left out, and the managers are told to see to them.
 */
export async function revokeReplaced(step: FlowStep, milestone: ResourceMilestone, at: Date) {
  const { ctx, tx, j, req } = step;
  if (req.flow !== "application") return;
  const rule = PROFILES[req.profile as ProfileKey]?.reapplication;
  const replaces = (req.facts as ApplicationFacts).replaces;
  if (!rule || rule.revokeAt !== milestone || !replaces || replaces.resourceIds.length === 0) return;
  const locked = await lockResources(tx, replaces.resourceIds);
  const busy = await busyResources(tx, locked.map((r) => r.id));
  const rows = locked.filter((r) => r.status === "delivered" && r.unitId === req.unitId && !busy.has(r.id));
  const left = replaces.resourceIds.filter((id) => !rows.some((r) => r.id === id));
  let opened: string | null = null;
  if (rows.length > 0) {
    const facts: RevocationFacts = {
      resourceIds: rows.map((r) => r.id),
      resourceNames: rows.map(describeResource),
      trigger: "major_change",
      evidence: { application: req.code, [milestone]: shanghaiDate(at) },
      reason: `${REVOCATION_TRIGGERS.major_change}：重新申请的 ${req.code}「${req.title}」已完成（${rule.article}）`,
    };
    const result = await openRequest(
      { ctx, tx, j },
      {
        flow: "revocation",
        title: revocationTitle(rows),
        form: { resources: facts.resourceIds, reason: facts.reason },
        facts,
        unitId: req.unitId,
        unitName: req.unitName,
        applicantId: req.applicantId,
      },
      { trigger: "major_change", origin: req.code, article: rule.article },
    );
    opened = result.code;
  }
  if (left.length > 0) {
    const managers = await partyUsers(tx, req, "manager");
    const names = replaces.resourceNames.filter((_, i) => left.includes(replaces.resourceIds[i]!));
    await notifyAbout(step, managers, "report", {
      title: "重大变更重新申请已完成，部分原资源未能自动注销",
      summary: `「${req.title}」（${req.code}）替换的原资源 ${names.join("、")} 已撤销、不属本单位或已在其他流程中，未纳入${opened ? `撤销申请 ${opened}` : "自动发起的撤销"}，请核实后处理（${rule.article}）`,
      tone: "warning",
    });
  }
}
