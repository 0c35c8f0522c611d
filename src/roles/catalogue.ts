/**
 * The role catalogue and the pure rules of who gets which role (design.md §4f). No env, no I/O:
 * the Worker parses `[vars] ROLES` / `DEFAULT_ROLE` once with `roleCatalogue`, and everything else
 * takes the parsed catalogue.
 */

export interface RoleCatalogue {
  /** The roles, lowest first, as `[vars] ROLES` spells them. */
  roles: string[];
  /** The deployment's default role: a tenant without a default of its own uses it. */
  defaultRole: string;
}

/** Used when `[vars] ROLES` is empty or unset. */
export const FALLBACK_ROLES = ["viewer", "member", "admin"];
const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/**
 * The catalogue from `[vars]`: `ROLES` comma-separated (blanks and repeats dropped; an invalid name
 * is a configuration error, thrown so a bad deploy fails loudly), `DEFAULT_ROLE` one of them
 * (otherwise the lowest role).
 */
export function roleCatalogue(vars: { ROLES?: string; DEFAULT_ROLE?: string }): RoleCatalogue {
  const listed = (vars.ROLES ?? "")
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  const roles: string[] = [];
  for (const role of listed.length ? listed : FALLBACK_ROLES) {
    if (!ROLE_NAME.test(role)) throw new Error(`[vars] ROLES: '${role}' is not a valid role name (letters, digits, _ . : -; at most 64)`);
    if (!roles.some((r) => r.toLowerCase() === role.toLowerCase())) roles.push(role);
  }
  const wanted = vars.DEFAULT_ROLE?.trim();
  const defaultRole = (wanted && catalogueRole(roles, wanted)) || roles[0];
  return { roles, defaultRole };
}

/** The catalogue's spelling of `value` (matched case-insensitively), or null when it is not a role. */
export function catalogueRole(roles: readonly string[], value: unknown): string | null {
  if (typeof value !== "string") return null;
  const wanted = value.trim().toLowerCase();
  return roles.find((r) => r.toLowerCase() === wanted) ?? null;
}

/**
 * The catalogue role the IdP pushed in a user's SCIM `roles`: the primary entry first (Entra's app
 * roles arrive as `{"value","primary":"True"}`; the sanitiser has made that a boolean), then the
 * others in the order sent; the first whose `value` (else `display`) names a catalogue role. Okta
 * assigns entitlements read from `/Roles`, whose `id` is the role's name, so `value` matches.
 */
export function pushedRole(roles: unknown, catalogue: Pick<RoleCatalogue, "roles">): string | null {
  if (!Array.isArray(roles)) return null;
  const entries = roles.filter((r): r is Record<string, unknown> => typeof r === "object" && r !== null);
  const ordered = [...entries.filter((r) => r.primary === true), ...entries.filter((r) => r.primary !== true)];
  for (const entry of ordered) {
    const inner = complexValue(entry.value);
    const found =
      catalogueRole(catalogue.roles, entry.value) ?? catalogueRole(catalogue.roles, entry.display) ?? catalogueRole(catalogue.roles, inner?.value) ?? catalogueRole(catalogue.roles, inner?.displayName);
    if (found) return found;
  }
  return null;
}

/** Entra's `AppRoleAssignmentsComplex` sends each role as a JSON string `{"id","value","displayName"}` in `value`. */
function complexValue(value: unknown): Record<string, unknown> | null {
  if (typeof value !== "string" || !value.trimStart().startsWith("{")) return null;
  try {
    const parsed = JSON.parse(value) as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export interface RoleRule {
  /** A group id of the tenant. */
  group: string;
  role: string;
}

export interface RoleMapping {
  /** The tenant's default role. */
  default: string;
  /** In the admin's order: the first rule whose group holds the user decides. */
  rules: RoleRule[];
}

/** At most this many rules per tenant: each is a term of every role computation. */
export const MAX_ROLE_RULES = 100;

export type MappingCheck = { ok: true; mapping: RoleMapping } | { ok: false; detail: string };

/**
 * Checks a mapping as the admin sent it against the catalogue (roles are returned in the
 * catalogue's spelling). Group ids are checked by the caller against the tenant's groups.
 */
export function checkMapping(input: unknown, catalogue: RoleCatalogue): MappingCheck {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return { ok: false, detail: 'Send {"default":"<role>","rules":[{"group":"<group id>","role":"<role>"}]}.' };
  const body = input as Record<string, unknown>;
  const known = catalogue.roles.join(", ");
  const defaultRole = body.default === undefined ? catalogue.defaultRole : catalogueRole(catalogue.roles, body.default);
  if (!defaultRole) return { ok: false, detail: `default: '${String(body.default)}' is not a role of this deployment (${known}).` };
  const rawRules = body.rules ?? [];
  if (!Array.isArray(rawRules)) return { ok: false, detail: "rules: must be a list of {group, role}." };
  if (rawRules.length > MAX_ROLE_RULES) return { ok: false, detail: `rules: at most ${MAX_ROLE_RULES} rules.` };
  const rules: RoleRule[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of rawRules.entries()) {
    const rule = raw as Record<string, unknown> | null;
    if (typeof rule !== "object" || rule === null || typeof rule.group !== "string" || !rule.group.trim()) return { ok: false, detail: `rules[${i}].group: give the id of one of this tenant's groups.` };
    const role = catalogueRole(catalogue.roles, rule.role);
    if (!role) return { ok: false, detail: `rules[${i}].role: '${String(rule.role)}' is not a role of this deployment (${known}).` };
    const group = rule.group.trim();
    if (seen.has(group)) return { ok: false, detail: `rules[${i}].group: group '${group}' already has a rule above (the first rule for a group decides, so a second would never apply).` };
    seen.add(group);
    rules.push({ group, role });
  }
  return { ok: true, mapping: { default: defaultRole, rules } };
}

/** The effective role of one user, in §4f's order: mapping rules, then the pushed role, then the default. */
export function effectiveRole(mapping: RoleMapping, groupIds: Iterable<string>, pushed: string | null): string {
  const member = new Set(groupIds);
  return mapping.rules.find((r) => member.has(r.group))?.role ?? pushed ?? mapping.default;
}
