import { bazhong } from "./bazhong";
import { gaochuang } from "./gaochuang";
import { huizhou } from "./huizhou";
import { meizhou } from "./meizhou";
import { shaoguan } from "./shaoguan";
import type { ProfileModule } from "./types";

export type { MlpsRule, NoticeRules, PeriodicJobKey, ProfileModule, ScaleUpBasis, TermRule } from "./types";

/**
 * The policy profiles (POLICY_PROFILE), one module per jurisdiction. ProfileKey is derived from this table, so
 * the table is checked against string keys (Record<ProfileKey, …> here would be circular).
 */
export const PROFILES = { meizhou, shaoguan, huizhou, bazhong, gaochuang } satisfies Record<string, ProfileModule>;

export type ProfileKey = keyof typeof PROFILES;

export const POLICY_PROFILES = Object.keys(PROFILES) as [ProfileKey, ...ProfileKey[]];

export const DEFAULT_PROFILE: ProfileKey = "meizhou";

/** Whether a stored or configured name is one of the profiles. */
export function isProfileKey(name: string): name is ProfileKey {
  return Object.hasOwn(PROFILES, name);
}
