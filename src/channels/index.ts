import { Hono } from "hono";
import type { Config } from "../config";
import { FALLBACK_CHANNEL } from "../core/notify";
import { consoleChannel } from "./console";
import type { Channel, ChannelDeps, ChannelKey, ChannelModule, ChannelMount, Sender } from "./types";
import { webChannel } from "./web";
import { wecomChannel } from "./wecom";

/** Every channel the service knows. Adding one is a folder under src/channels and a line here. */
export const CHANNELS = {
  console: consoleChannel,
  wecom: wecomChannel,
  web: webChannel,
} satisfies Record<ChannelKey, ChannelModule>;

const MODULES: readonly ChannelModule[] = Object.values(CHANNELS);

/** The channels the configuration turns on; the console always. */
export function configuredChannels(config: Config, deps: ChannelDeps): Channel[] {
  return MODULES.flatMap((m) => m.configure(config, deps) ?? []);
}

/**
 * What the app mounts: each configured channel's routes, and for a channel with routes that is not
 * configured, an answer saying so (a WeCom callback to a service without WeCom is told, not just 404).
 */
export function channelMounts(configured: readonly ChannelMount[]): ChannelMount[] {
  const on = new Set(configured.map((c) => c.key));
  const off = MODULES.flatMap(({ key, notConfigured }) =>
    on.has(key) || !notConfigured
      ? []
      : [{ key, routes: () => new Hono().all("*", (c) => c.json({ error: notConfigured }, 404)) } satisfies ChannelMount],
  );
  return [...configured, ...off];
}

/**
 * Who delivers each channel's messages: a configured channel's own sender, else the console's. A person's
 * WeCom copy is printed on the console of a service without WeCom, as before channels had addresses.
 */
export function channelSenders(configured: readonly Channel[]): Record<ChannelKey, Sender> {
  const byKey = new Map(configured.map((c) => [c.key, c.sender]));
  const fallback = byKey.get(FALLBACK_CHANNEL);
  if (!fallback) throw new Error("控制台通道必须始终配置");
  return Object.fromEntries(MODULES.map(({ key }) => [key, byKey.get(key) ?? fallback])) as Record<ChannelKey, Sender>;
}
