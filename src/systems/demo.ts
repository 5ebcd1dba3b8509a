import { eq } from "drizzle-orm";
import { systems } from "../../db/schema";
import type { ServiceContext } from "../core/context";
import { demoDirectory } from "../directory/demo";
import { registerSystem } from "./register";

/**
 * The system examples/application.json is for, on the register (004 第二条): 梅州 takes an application only for a
 * registered system of the unit, by exactly its registered name.
 */
export const DEMO_SYSTEM = { name: "梅县区教育资助管理系统", kind: "migration", approvalRef: "梅县发改投审〔2025〕12 号" } as const;

type Declarer = { id: string; name: string; unit: string; roles: readonly string[] };

/** Every applicant among these people (the demo's by default): benches and tests file the example as any of them. */
export const applicantsOf = (users: readonly Declarer[] = demoDirectory.users): Declarer[] => users.filter((u) => u.roles.includes("applicant"));

/**
 * Registers DEMO_SYSTEM for the unit of each applicant given (lihua's 梅县区教育局 by default), declared by that
 * applicant; a unit that already has it is left as it is.
 */
export async function registerDemoSystems(ctx: ServiceContext, applicants: readonly Declarer[] = demoDirectory.users.filter((u) => u.id === "lihua")): Promise<void> {
  const have = new Set((await ctx.db.select({ unitId: systems.unitId }).from(systems).where(eq(systems.name, DEMO_SYSTEM.name))).map((s) => s.unitId));
  for (const user of applicants) {
    if (have.has(user.unit)) continue;
    have.add(user.unit);
    await registerSystem({ ctx: { ...ctx, actor: { userId: user.id, name: user.name, unitId: user.unit, roles: ["applicant"] } }, input: { ...DEMO_SYSTEM, nonClassified: true } });
  }
}

