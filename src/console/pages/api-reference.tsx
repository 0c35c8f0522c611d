/**
 * The admin API reference: the OpenAPI document (/admin/v1/openapi.json) rendered server-side as a
 * readable list of operations. No client-side renderer, so nothing beyond the console's own assets
 * loads (the CSP allows self only).
 */
import { Layout, type PageContext } from "../ui";

/** The parts of an OpenAPI 3.1 document this page reads. */
export interface Schema {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  description?: string;
  default?: unknown;
  example?: unknown;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  nullable?: boolean;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
}
interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}
export interface ApiDocument {
  info: { title: string; description?: string };
  servers?: { url: string }[];
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const METHODS = ["get", "post", "put", "patch", "delete"];

const refName = (ref: string) => ref.split("/").pop() ?? ref;

function resolve(doc: ApiDocument, schema: Schema | undefined): Schema | undefined {
  return schema?.$ref ? doc.components?.schemas?.[refName(schema.$ref)] : schema;
}

/** A short type label: `string`, `integer (1–500)`, `array of Tenant`, `"okta" | "entra"`, `string | null`. */
export function typeLabel(doc: ApiDocument, schema: Schema | undefined): string {
  if (!schema) return "any";
  if (schema.$ref) return refName(schema.$ref);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return alternatives.map((s) => typeLabel(doc, s)).join(" | ");
  if (schema.allOf) return schema.allOf.map((s) => typeLabel(doc, s)).join(" & ");
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (schema.properties && (types.length === 0 || types.includes("object"))) {
    const fields = Object.entries(schema.properties).map(([name, field]) => `${name}: ${typeLabel(doc, field)}`);
    return `{ ${fields.join(", ")} }${schema.nullable ? " | null" : ""}`;
  }
  const labels = types.map((t) => (t === "array" ? `array of ${typeLabel(doc, schema.items)}` : t));
  let label = labels.join(" | ") || "any";
  if (schema.minimum !== undefined || schema.maximum !== undefined) label += ` (${schema.minimum ?? "…"}–${schema.maximum ?? "…"})`;
  return schema.nullable ? `${label} | null` : label;
}

interface FieldRow {
  name: string;
  type: string;
  required: boolean;
  notes: string;
}

function notes(schema: Schema | undefined): string {
  if (!schema) return "";
  const parts: string[] = [];
  if (schema.description) parts.push(schema.description);
  if (schema.default !== undefined) parts.push(`Default ${JSON.stringify(schema.default)}.`);
  if (schema.example !== undefined && typeof schema.example !== "object") parts.push(`Example ${JSON.stringify(schema.example)}.`);
  if (schema.pattern) parts.push(`Pattern ${schema.pattern}.`);
  return parts.join(" ");
}

/** The top-level fields of an object schema (references resolved). */
export function fieldsOf(doc: ApiDocument, schema: Schema | undefined): FieldRow[] {
  const object = resolve(doc, schema);
  if (!object?.properties) return [];
  const required = new Set(object.required ?? []);
  return Object.entries(object.properties).map(([name, field]) => ({ name, type: typeLabel(doc, field), required: required.has(name), notes: notes(resolve(doc, field)) }));
}

/** Every operation of the document, in path order, grouped by its first tag. */
export function operationsByTag(doc: ApiDocument) {
  const groups = new Map<string, { method: string; path: string; operation: Operation }[]>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const tag = operation.tags?.[0] ?? "Other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag)!.push({ method, path, operation });
    }
  }
  return groups;
}

function FieldTable(props: { rows: FieldRow[]; first: string }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>{props.first}</th>
            <th>Type</th>
            <th>Required</th>
            <th>Notes</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr>
              <td class="mono">{row.name}</td>
              <td class="mono small">{row.type}</td>
              <td>{row.required ? "yes" : "no"}</td>
              <td class="small">{row.notes}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function OperationPanel(props: { doc: ApiDocument; base: string; method: string; path: string; operation: Operation }) {
  const { doc, operation } = props;
  const parameters = (operation.parameters ?? []).map((p) => ({ name: `${p.name} (${p.in})`, type: typeLabel(doc, p.schema), required: p.required === true, notes: notes(p.description ? { ...p.schema, description: p.description } : p.schema) }));
  const body = operation.requestBody?.content?.["application/json"]?.schema;
  const bodyRows = fieldsOf(doc, body);
  const bodyExample = resolve(doc, body)?.example;
  const id = `${props.method}-${props.path}`.replace(/[^A-Za-z0-9]+/g, "-");
  return (
    <article class="panel" id={id} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>
        <span class="badge">{props.method.toUpperCase()}</span> <code>{`${props.base}${props.path}`}</code>
      </h3>
      {operation.summary ? <p>{operation.summary}</p> : null}
      {parameters.length ? (
        <>
          <h4>Parameters</h4>
          <FieldTable rows={parameters} first="Parameter" />
        </>
      ) : null}
      {body ? (
        <>
          <h4>Request body {operation.requestBody?.required ? "" : <span class="muted small">(optional)</span>}</h4>
          {bodyRows.length ? <FieldTable rows={bodyRows} first="Field" /> : <p class="mono small">{typeLabel(doc, body)}</p>}
          {bodyExample !== undefined ? (
            <p class="small">
              Example: <code>{JSON.stringify(bodyExample)}</code>
            </p>
          ) : null}
        </>
      ) : null}
      <h4>Responses</h4>
      <ul class="small">
        {Object.entries(operation.responses ?? {}).map(([status, response]) => {
          const schema = Object.values(response.content ?? {})[0]?.schema;
          return (
            <li>
              <strong>{status}</strong> {response.description ?? ""}
              {schema ? <span class="mono muted"> · {typeLabel(doc, schema)}</span> : null}
            </li>
          );
        })}
      </ul>
    </article>
  );
}

/** The OpenAPI document for a signed-in operator (the admin API's copy needs the bearer token). */
export const API_DOCUMENT_PATH = "/admin/api/openapi.json";

export function ApiReferencePage(props: { ctx: PageContext; doc: ApiDocument }) {
  const { doc } = props;
  const base = "/admin/v1";
  const groups = operationsByTag(doc);
  return (
    <Layout title="API reference" ctx={props.ctx}>
      <div class="page-head">
        <div>
          <h1>Admin API reference</h1>
          <p class="muted">{doc.info.description}</p>
          <p class="small">
            Every request carries <code>Authorization: Bearer &lt;ADMIN_TOKEN&gt;</code>; errors are RFC 9457 problem details. The machine-readable
            document (OpenAPI 3.1): <a href={API_DOCUMENT_PATH}>openapi.json</a> (served to this console session;{" "}
            scripts fetch <code>{`${base}/openapi.json`}</code> with the bearer token).
          </p>
        </div>
      </div>
      <nav class="panel small" aria-label="Operations">
        {[...groups.entries()].map(([tag, operations]) => (
          <p>
            <strong>{tag}</strong>:{" "}
            {operations.map((o, i) => (
              <>
                {i ? " · " : ""}
                <a href={`#${`${o.method}-${o.path}`.replace(/[^A-Za-z0-9]+/g, "-")}`}>
                  {o.method.toUpperCase()} {o.path}
                </a>
              </>
            ))}
          </p>
        ))}
      </nav>
      {[...groups.entries()].map(([tag, operations]) => (
        <section aria-label={tag}>
          <h2>{tag}</h2>
          {operations.map((o) => (
            <OperationPanel doc={doc} base={base} method={o.method} path={o.path} operation={o.operation} />
          ))}
        </section>
      ))}
      <section aria-label="Schemas">
        <h2>Schemas</h2>
        {Object.entries(doc.components?.schemas ?? {}).map(([name, schema]) => (
          <article class="panel" id={`schema-${name}`}>
            <h3>
              <code>{name}</code>
            </h3>
            {schema.description ? <p>{schema.description}</p> : null}
            <FieldTable rows={fieldsOf(doc, schema)} first="Field" />
          </article>
        ))}
      </section>
    </Layout>
  );
}
