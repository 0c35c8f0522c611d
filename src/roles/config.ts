/** The deployment's role catalogue from `[vars]`, parsed once per isolate (the vars do not change under it). */
import type { Env } from "../env";
import { roleCatalogue, type RoleCatalogue } from "./catalogue";

let cached: { key: string; catalogue: RoleCatalogue } | undefined;

export function rolesOf(env: Pick<Env, "ROLES" | "DEFAULT_ROLE">): RoleCatalogue {
  const key = `${env.ROLES ?? ""}\n${env.DEFAULT_ROLE ?? ""}`;
  if (cached?.key !== key) cached = { key, catalogue: roleCatalogue(env) };
  return cached.catalogue;
}
