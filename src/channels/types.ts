import type { Hono } from "hono";
import type { Db } from "../../db/client";
import type { Card } from "../../cards";
import type { Config } from "../config";
import type { WorkCalendar } from "../core/calendar";
import type { Clock, ServiceContext } from "../core/context";
import type { CardSettlement } from "../core/notify";
import type { RefusalRecorder } from "../inbound/refusals";

/** Every channel the service can deliver on; CHANNELS (./index.ts) must have a module for each. */
export const CHANNEL_KEYS = ["console", "wecom", "web"] as const;
export type ChannelKey = (typeof CHANNEL_KEYS)[number];

/** What /healthz says of a channel: whether its platform accepts the service, and the last refusal if not. */
export interface ChannelHealth {
  ok: boolean;
  problem?: { errcode?: number; message: string; at: string };
}

/** One copy of a message, on one channel, as the outbox hands it to that channel's sender. */
export interface OutboxMessage {
  id: number;
  userId: string;
  userName: string;
  channel: string;
  /** The person's address on this channel (user_channels), null when they have none there (the console needs none). */
  address: string | null;
  kind: string;
  /** The card to deliver; null for a settlement. */
  card: Card | null;
  /** kind "card_update": grey out the buttons of the card of `task` with this label. */
  settlement: CardSettlement | null;
  /** The task a card asks the recipient to decide (or a settlement is about), with its button token. */
  task: { id: number; cardToken: string | null; pending: boolean } | null;
  /** An earlier attempt was handed to the channel and the process stopped before the result was recorded. */
  resumed: boolean;
  /** This hand-off's number, from 1. Above 1 an earlier one may have reached the platform (a timeout, a crash). */
  attempt: number;
}

/** Why a send failed, as far as the outbox needs to know. */
export class SendError extends Error {
  constructor(
    message: string,
    /** Wait at least this long before the next attempt (rate limits); null for the usual backoff. */
    readonly retryAfterMs: number | null = null,
    /** Retrying cannot help (a card for a recipient the app cannot see): mark the message failed at once. */
    readonly permanent = false,
  ) {
    super(message);
  }
}

/** What delivers a channel's messages to people: the console, WeCom / 粤政易. */
export interface Sender {
  readonly name: string;
  /** A platform's per-recipient limit: messages over it wait in the outbox instead of being dropped. */
  readonly perRecipient?: { perMinute: number; perHour: number };
  /** "skipped" when there is nothing left to deliver (the task was decided before its card went out). */
  send(message: OutboxMessage): Promise<"sent" | "skipped">;
  /** The channel's own upkeep, run each round before the outbox is drained (re-issuing cards about to lapse). */
  upkeep?(): Promise<void>;
}

/** What the app gives every channel's routes. */
export interface ChannelRouteDeps {
  db: Db;
  clock: Clock;
  calendar: () => WorkCalendar;
  profile: ServiceContext["profile"];
  log: (line: string) => void;
  /** The routes queued messages: the outbox may send them now rather than at its next round. */
  onQueued?: () => void;
  /** Where refusals of unidentified callers (a forged callback) are audited, rate-limited. */
  refusals: RefusalRecorder;
  /** Reloads the calendar `calendar` returns, after a year is loaded (the portal's 系统管理 → 工作日历). */
  refreshCalendar?: () => Promise<unknown>;
}

/** What the app mounts for a channel: its routes under `/<key>` (or `mountAt`), and what /healthz says of it. */
export interface ChannelMount {
  key: ChannelKey;
  routes?: (deps: ChannelRouteDeps) => Hono<any>;
  /**
   * Where its routes are mounted instead of `/<key>`: the web portal's "/". Such a channel is mounted after
   * everything else and answers only what nothing else does, so /api, /access, /openapi.json, /docs, /healthz
   * and the other channels keep their answers.
   */
  mountAt?: string;
  health?: () => ChannelHealth;
}

/** A channel set up from the configuration: its mount, and the sender the outbox hands its messages to. */
export interface Channel extends ChannelMount {
  sender: Sender;
  /** How the start-up line names it: 企业微信（https://qyapi.weixin.qq.com）. */
  description: string;
}

/** What a channel needs from the composition root to set itself up. */
export interface ChannelDeps {
  db: Db;
  clock: Clock;
  log: (line: string) => void;
}

export interface ChannelModule {
  key: ChannelKey;
  /**
   * How it addresses a person: the directory file's field holding their address on it (kept in user_channels
   * under the channel's key), or null for a channel that needs none (the console names the person).
   */
  addressField: string | null;
  /** The channel as configured, or null when the configuration does not turn it on. */
  configure(config: Config, deps: ChannelDeps): Channel | null;
  /** What its routes answer while it is not configured; absent for a channel without routes. */
  notConfigured?: { code: string; message: string };
}
