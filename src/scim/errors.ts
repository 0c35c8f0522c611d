/**
 * The one error type of the service. Thrown anywhere (core, repository, handler); the app's single
 * `onError` renders it as a SCIM Error (RFC 7644 §3.12) on SCIM routes and as RFC 9457 problem
 * details on admin routes.
 */

/** RFC 7644 §3.12 Table 9, plus the ones this server needs beyond it. */
export type ScimType =
  | "invalidFilter"
  | "tooMany"
  | "uniqueness"
  | "mutability"
  | "invalidSyntax"
  | "invalidPath"
  | "noTarget"
  | "invalidValue"
  | "invalidVers"
  | "sensitive"
  | "tooLarge";

export class ApiError extends Error {
  readonly status: number;
  readonly scimType?: ScimType;
  readonly headers?: Record<string, string>;

  constructor(status: number, detail: string, options: { scimType?: ScimType; headers?: Record<string, string> } = {}) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.scimType = options.scimType;
    this.headers = options.headers;
  }

  get detail(): string {
    return this.message;
  }

  /** A plain object that survives Durable Object RPC (which keeps only name and message of Errors). */
  toJSON(): SerializedApiError {
    return { status: this.status, detail: this.message, scimType: this.scimType, ...(this.headers ? { headers: this.headers } : {}) };
  }

  static from(serialized: SerializedApiError): ApiError {
    return new ApiError(serialized.status, serialized.detail, { scimType: serialized.scimType, headers: serialized.headers });
  }
}

export interface SerializedApiError {
  status: number;
  detail: string;
  /** e.g. Retry-After on a 429 from a Durable Object. */
  headers?: Record<string, string>;
  scimType?: ScimType;
}

export const badRequest = (scimType: ScimType, detail: string) => new ApiError(400, detail, { scimType });
export const notFound = (detail: string) => new ApiError(404, detail);
export const conflict = (detail: string) => new ApiError(409, detail, { scimType: "uniqueness" });
