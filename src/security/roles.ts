/**
 * Roles of API keys, each including the ones below it: `member` runs assistants (messages, runs,
 * threads), `editor` also manages assistants, `admin` also manages its tenant's keys, webhook
 * secrets and reads usage.
 */
export const ROLES = ["member", "editor", "admin"] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { member: 0, editor: 1, admin: 2 };

export const roleAtLeast = (role: Role, needed: Role) => RANK[role] >= RANK[needed];
