import type { requests } from "../../db/schema";

export type RequestRow = typeof requests.$inferSelect;
/** A request row read under its row lock, with its unit's name: what every step on one request works with. */
export type LockedRequest = RequestRow & { unitName: string };
