import { z } from "zod";
import { POLICY_PROFILES } from "../flows/application";
import { parseInput } from "./validation";

const configSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(8787),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "应以 postgres:// 开头")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  POLICY_PROFILE: z.enum(POLICY_PROFILES as [string, ...string[]]).default("meizhou"),
  // How often timers fire and the outbox is drained.
  JOB_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
});

export type Config = z.output<typeof configSchema>;

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return parseInput(configSchema, env, "环境变量配置有误");
}
