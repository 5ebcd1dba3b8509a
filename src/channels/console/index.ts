import { cardText } from "../../../cards";
import { maskMobile } from "../../directory/queries";
import type { ChannelModule, Sender } from "../types";

/**
 * Messages printed on the service's console: the channel of a set-up without WeCom, and of every person who
 * has no address on a configured channel, so that nothing is silently dropped.
 */
export function consoleSender(log: (line: string) => void = (line) => console.log(line)): Sender {
  return {
    name: "console",
    async send(m) {
      // Phone numbers never reach a log line (invariant 8); cards carry none, but mask anything that looks like one.
      const body = m.card ? cardText(m.card) : `卡片更新：${m.settlement?.label ?? ""}`;
      log(`[通知 → ${m.userName}(${m.userId})] ${body.replace(/1[3-9]\d{9}/g, (n) => maskMobile(n))}`);
      return "sent";
    },
  };
}

export const consoleChannel = {
  key: "console",
  addressField: null,
  // Always on: it is where messages go that no configured channel can take.
  configure: () => ({ key: "console", sender: consoleSender(), description: "控制台" }),
} satisfies ChannelModule;
