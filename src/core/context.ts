import type { Db } from "../../db/client";
import type { ProfileKey } from "../../profiles";
import type { WorkCalendar } from "./calendar";
import type { Role } from "./roles";

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Where an action came from; recorded in every audit entry. */
export type Channel = "api" | "cli" | "timer" | "wecom" | "system" | "access" | "web";

export interface Actor {
  userId: string;
  name: string;
  unitId: string;
  roles: Role[];
}

/** What every service verb receives besides its input (openstatus-style `{ ctx, input }`). */
export interface ServiceContext {
  db: Db;
  clock: Clock;
  calendar: WorkCalendar;
  /** POLICY_PROFILE: which jurisdiction's stages and deadlines new requests follow. */
  profile: ProfileKey;
  actor: Actor | null;
  channel: Channel;
  sourceIp?: string | null;
  /** The host (bastion or VM) calling /access with its own credential, when there is no person. */
  host?: string | null;
  /** De-duplication key of the inbound event (Idempotency-Key, card click, chat message id). */
  dedupe?: { scope: string; key: string; fingerprint: string };
}
