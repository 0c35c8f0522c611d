/** Test support for placement: seeding a tenant's users straight into its database (fast), as SCIM stores them. */

/** Seeds `n` users of tenant `id` into `database`. */
export async function seedUsers(database: D1Database, id: string, prefix: string, n: number): Promise<void> {
  const at = new Date().toISOString();
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < n; i += 14) {
    const rows = Array.from({ length: Math.min(14, n - i) }, (_, k) => i + k);
    const values = rows.map((_, r) => `(?${r * 7 + 1}, ?${r * 7 + 2}, ?${r * 7 + 3}, ?${r * 7 + 4}, ?${r * 7 + 5}, ?${r * 7 + 6}, ?${r * 7 + 7})`).join(", ");
    const params = rows.flatMap((k) => {
      const name = `${prefix}.seed${k}@example.com`;
      return [id, crypto.randomUUID(), name, name.toLowerCase(), JSON.stringify({ userName: name, active: true, name: { givenName: "Seed", familyName: `N${k}` } }), at, at];
    });
    statements.push(database.prepare(`INSERT INTO users (tenant_id, id, user_name, user_name_norm, data, created_at, updated_at) VALUES ${values}`).bind(...params));
  }
  await database.batch(statements);
}
