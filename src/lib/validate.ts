/** zod at the edge of the admin API: a failed parse becomes one readable 400. */
import type { z } from "zod";
import { ApiError } from "../scim/errors";

export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const detail = result.error.issues
    .map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ");
  throw new ApiError(400, detail, { scimType: "invalidValue" });
}
