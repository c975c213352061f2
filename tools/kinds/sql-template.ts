import { z } from "zod";
import { ErrorCodes, InputError } from "../../src/errors.js";
import type { CatalogParameter } from "../catalog/schema.js";

/** `:name` markers of a statement (not `::` casts). */
export const MARKER = /(?<![:\w]):([A-Za-z_]\w*)/g;
/** `{{name}}` places: a choice's fragments, the entry's table, or the where conditions. */
const PLACE = /\{\{([a-z_][a-z0-9_]*)\}\}/g;
/** `{{#name}}…{{/name}}` (kept when the argument is given) and `{{^name}}…{{/name}}` (kept when it is not). */
const SECTION = /\{\{([#^])([a-z_][a-z0-9_]*)\}\}([\s\S]*?)\{\{\/\2\}\}/g;
/** The name of each section opening, `{{#name}}` or `{{^name}}`. */
const SECTION_NAME = /\{\{[#^]([a-z_][a-z0-9_]*)\}\}/g;
/** Places the entry itself fills; no choice may take these names. */
const RESERVED = new Set(["table", "where"]);
/** What a fixed fragment may not hold: a statement separator, a place, or a value marker (values are parameters). */
const UNSAFE_FRAGMENT = /;|\{\{|\}\}|(?<![:\w]):[A-Za-z_]/;

export const Choice = z
  .object({
    name: z.string().regex(/^[a-z_][a-z0-9_]{0,63}$/),
    description: z.string().min(3),
    options: z
      .record(z.string().regex(/^[A-Za-z0-9_]{1,64}$/), z.string())
      .refine((o) => Object.keys(o).length > 0, "give at least one option")
      .refine((o) => Object.values(o).every((f) => !UNSAFE_FRAGMENT.test(f)), {
        message: "a fragment holds no ';', no {{place}} and no :marker (values are parameters)",
      })
      .describe("Option → the fixed SQL fragment it puts in the statement's {{name}} place."),
    multiple: z
      .boolean()
      .default(false)
      .describe("The model picks a list of options; their fragments are joined with ', '."),
    maxItems: z.number().int().positive().optional().describe("Most options a multiple choice takes (all by default)."),
    default: z.string().optional().describe("The option taken when the model omits a single choice (shown to it)."),
    fallback: z
      .union([z.string(), z.array(z.string()).min(1)])
      .optional()
      .describe("Option(s) used when the model omits the choice, without being a schema default."),
  })
  .strict()
  .superRefine((c, ctx) => {
    const known = (o: string) => o in c.options;
    if (c.default !== undefined && !known(c.default))
      ctx.addIssue({ code: "custom", path: ["default"], message: "default must be one of the options" });
    if (c.default !== undefined && c.multiple)
      ctx.addIssue({ code: "custom", path: ["default"], message: "a multiple choice takes a fallback, not a default" });
    const fallback = c.fallback === undefined ? [] : [c.fallback].flat();
    if (!fallback.every(known))
      ctx.addIssue({ code: "custom", path: ["fallback"], message: "fallback must name options" });
    if (!c.multiple && Array.isArray(c.fallback))
      ctx.addIssue({ code: "custom", path: ["fallback"], message: "a single choice falls back to one option" });
  });
export type Choice = z.infer<typeof Choice>;

/** Two parameters that bound a range: a call giving both with `from` after `to` is refused. */
export const Range = z.object({ from: z.string(), to: z.string() }).strict();

/** The input schema of one choice: an enum of its options (a list of them when multiple); never free text. */
export function choiceSchema(c: Choice): z.ZodType {
  const option = z.enum(Object.keys(c.options) as [string, ...string[]]);
  if (c.multiple) {
    const max = c.maxItems ?? Object.keys(c.options).length;
    return z.array(option).min(1).max(max).optional().describe(c.description);
  }
  return (c.default !== undefined ? option.default(c.default) : option.optional()).describe(c.description);
}

/** What an entry's statement is made of, as the sql kind reads it. */
export interface SqlTemplate {
  statement: string;
  table?: string;
  where: readonly string[];
  parameters: readonly CatalogParameter[];
  choices: readonly Choice[];
  ranges: readonly z.infer<typeof Range>[];
}

const given = (v: unknown) => v !== undefined && v !== null;
const markersIn = (text: string) => new Set([...text.matchAll(MARKER)].map((m) => m[1]!));

/** The problems of a template (paths relative to the entry), empty when it is sound. */
export function templateIssues(t: SqlTemplate): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  for (const c of t.choices)
    if (RESERVED.has(c.name)) issues.push({ path: "choices", message: `${c.name} is the entry's own place` });
  const markers = markersIn([t.statement, ...t.where].join("\n"));
  const declared = new Set(t.parameters.map((p) => p.name));
  const choices = new Set(t.choices.map((c) => c.name));
  for (const name of markers)
    if (!declared.has(name) && name !== "row_limit")
      issues.push({ path: "statement", message: `:${name} is not a declared parameter` });
  for (const name of declared)
    if (!markers.has(name)) issues.push({ path: "parameters", message: `${name} does not appear as :${name}` });
  for (const [, , name] of t.statement.matchAll(SECTION))
    if (!declared.has(name!) && !choices.has(name!))
      issues.push({ path: "statement", message: `{{#${name}}} names no parameter or choice` });
  if (/\{\{[#^/]/.test(t.statement.replace(SECTION, "$3")))
    issues.push({ path: "statement", message: "a {{#name}} or {{^name}} section is not closed by its {{/name}}" });
  const places = new Set([...t.statement.replace(SECTION, "$3").matchAll(PLACE)].map((m) => m[1]!));
  for (const name of places)
    if (!choices.has(name) && !RESERVED.has(name))
      issues.push({ path: "statement", message: `{{${name}}} is not a declared choice` });
  if (places.has("table") && t.table === undefined)
    issues.push({ path: "table", message: "the statement names {{table}}; give the entry its table" });
  if (t.where.length > 0 && !places.has("where"))
    issues.push({ path: "where", message: "put {{where}} in the statement where the conditions go" });
  for (const name of [...declared].filter((n) => choices.has(n) || n === "limit"))
    issues.push({ path: "parameters", message: `${name} is used twice` });
  for (const r of t.ranges)
    for (const end of [r.from, r.to])
      if (!declared.has(end)) issues.push({ path: "ranges", message: `${end} is not a declared parameter` });
  return issues;
}

/**
 * The statement of one call: sections kept or dropped by whether their argument is given, each place filled with the
 * catalog's fixed fragment of the chosen option, and the where conditions whose parameters all have a value. No
 * argument text ever reaches the statement: arguments only select catalog text; their values go as parameters.
 */
export function renderStatement(t: SqlTemplate, args: Readonly<Record<string, unknown>>): string {
  checkRanges(t, args);
  let text = t.statement;
  for (let previous = ""; previous !== text;) {
    previous = text;
    text = text.replace(SECTION, (_all, sign: string, name: string, body: string) =>
      given(args[name]) === (sign === "#") ? body : "",
    );
  }
  const bound = new Set(t.parameters.filter((p) => p.fromIdentity).map((p) => p.name));
  const kept = t.where.filter((condition) => [...markersIn(condition)].every((m) => bound.has(m) || given(args[m])));
  const fragments = new Map(t.choices.map((c) => [c.name, fragmentOf(c, args[c.name])]));
  return text
    .replace(PLACE, (_all, name: string) => {
      if (name === "table") return t.table!;
      if (name === "where") return kept.length ? ` WHERE ${kept.join(" AND ")}` : "";
      return fragments.get(name) ?? "";
    })
    .trim();
}

/** Refuses a call giving both ends of a range in the wrong order. */
function checkRanges(t: SqlTemplate, args: Readonly<Record<string, unknown>>): void {
  for (const r of t.ranges) {
    const from = args[r.from];
    const to = args[r.to];
    if (given(from) && given(to) && (from as string | number) > (to as string | number))
      throw new InputError(ErrorCodes.INVALID_ARGUMENT, `${r.from} must not be after ${r.to}.`);
  }
}

/** A rendered statement and the markers it still holds. */
export interface RenderedStatement {
  statement: string;
  markers: ReadonlySet<string>;
}

/** Distinct argument shapes one entry keeps rendered; past it, further shapes are rendered per call. */
const MAX_SHAPES = 256;

/**
 * `renderStatement` and `markersOf` for one entry, kept per shape of the arguments: which names are given and which
 * options are chosen decide the statement, never the values, so calls of one shape share one rendering. Ranges are
 * checked on every call.
 */
export function statementRenderer(t: SqlTemplate): (args: Readonly<Record<string, unknown>>) => RenderedStatement {
  const sections = [...t.statement.matchAll(SECTION_NAME)].map((m) => m[1]!);
  const shapeNames = [...new Set([...sections, ...t.where.flatMap((condition) => [...markersIn(condition)])])];
  const shapes = new Map<string, RenderedStatement>();
  return (args) => {
    checkRanges(t, args);
    const shape = JSON.stringify([shapeNames.map((n) => given(args[n])), t.choices.map((c) => args[c.name] ?? null)]);
    let rendered = shapes.get(shape);
    if (rendered === undefined) {
      const statement = renderStatement(t, args);
      rendered = { statement, markers: markersIn(statement) };
      if (shapes.size < MAX_SHAPES) shapes.set(shape, rendered);
    }
    return rendered;
  };
}

/** The catalog's fragment for what the model chose (or the fallback); only option names ever index the table. */
function fragmentOf(c: Choice, value: unknown): string {
  const picked = given(value) ? value : c.fallback;
  if (!given(picked)) return "";
  const names = [picked].flat() as unknown[];
  return names
    .map((n) => {
      if (typeof n !== "string" || !Object.hasOwn(c.options, n))
        throw new InputError(ErrorCodes.INVALID_ARGUMENT, `${c.name} must be one of the listed options.`);
      return c.options[n]!;
    })
    .join(", ");
}

/** The markers the rendered statement still holds: only those parameters are sent. */
export function markersOf(statement: string): Set<string> {
  return markersIn(statement);
}
