// Proto messages → OpenAPI 3 schemas (JSON names, proto comments as descriptions) for the generated REST docs.
import protobuf from 'protobufjs';

/** An OpenAPI schema object (only what the generator writes). */
export type Schema = Record<string, unknown>;

const INT32 = { type: 'integer', format: 'int32' };
const INT64 = { type: 'integer', format: 'int64' }; // REST sends numbers (proto-loader `longs: Number`), not strings

const SCALARS: Readonly<Record<string, Schema>> = {
  string: { type: 'string' },
  bool: { type: 'boolean' },
  bytes: { type: 'string', format: 'byte' },
  double: { type: 'number', format: 'double' },
  float: { type: 'number', format: 'float' },
  int32: INT32,
  sint32: INT32,
  sfixed32: INT32,
  uint32: INT32,
  fixed32: INT32,
  int64: INT64,
  sint64: INT64,
  sfixed64: INT64,
  uint64: INT64,
  fixed64: INT64,
};

const EMPTY = '.google.protobuf.Empty';
const FIELD_MASK = '.google.protobuf.FieldMask';

/** `google.protobuf.Empty` answers `{}`. */
const EMPTY_SCHEMA: Schema = { type: 'object', description: 'An empty object, `{}`.' };

/** The component name of a message: its proto name (`permio.v1.Role` → `Role`). */
export const componentName = (type: protobuf.Type) => type.name;

const componentRef = (type: protobuf.Type) => ({ $ref: `#/components/schemas/${componentName(type)}` });

/** `optional` in proto3: the field has presence (set or absent), so it may be missing from JSON. */
const isOptional = (field: protobuf.Field) => field.options?.proto3_optional === true;

/** gRPC-only fields: a FieldMask says over gRPC what a JSON body says by the presence of a field. */
export const isRestField = (field: protobuf.Field) => field.resolvedType?.fullName !== FIELD_MASK;

/** `{ description }` from a proto comment, its line breaks collapsed (they wrap, they are not paragraphs); `{}` without one. */
export const descriptionOf = (comment: string | null) => (comment ? { description: comment.replace(/\s*\n\s*/g, ' ') } : {});

/** A message as a value: a reference to its component, or `{}` for Empty. */
export const messageRef = (type: protobuf.Type): Schema => (type.fullName === EMPTY ? EMPTY_SCHEMA : componentRef(type));

/** The schema of one value of `field` (ignoring `repeated`). */
function valueSchema(field: protobuf.Field): Schema {
  const t = field.resolvedType;
  if (t instanceof protobuf.Enum) return { type: 'string', enum: Object.keys(t.values) };
  if (t instanceof protobuf.Type) return messageRef(t);
  return SCALARS[field.type] ?? { type: 'string' };
}

/** The schema of a field with its comment; a `$ref` is wrapped in `allOf` so the description is not ignored. */
export function fieldSchema(field: protobuf.Field): Schema {
  const value = valueSchema(field);
  const schema = field.repeated ? { type: 'array', items: value } : '$ref' in value ? { allOf: [value] } : { ...value };
  return { ...schema, ...descriptionOf(field.comment) };
}

/**
 * The object schema of `type`: every REST field but those in `omit` (path parameters). With `required`, every field
 * but the proto3 `optional` ones is required: responses always carry their defaults (SPEC §5).
 */
export function messageSchema(type: protobuf.Type, opts: { omit?: ReadonlySet<string>; required?: boolean } = {}): Schema {
  const fields = type.fieldsArray.filter((f) => isRestField(f) && !opts.omit?.has(f.name));
  const required = opts.required ? fields.filter((f) => !isOptional(f)).map((f) => f.name) : [];
  return {
    type: 'object',
    ...descriptionOf(type.comment),
    properties: Object.fromEntries(fields.map((f) => [f.name, fieldSchema(f)])),
    ...(required.length > 0 ? { required } : {}),
  };
}

/** `type` and every message its fields reach, except the well-known Empty and FieldMask. */
export function reachableMessages(type: protobuf.Type, into = new Map<string, protobuf.Type>()): Map<string, protobuf.Type> {
  if (type.fullName === EMPTY || type.fullName === FIELD_MASK || into.has(type.fullName)) return into;
  into.set(type.fullName, type);
  for (const f of type.fieldsArray) {
    if (f.resolvedType instanceof protobuf.Type) reachableMessages(f.resolvedType, into);
  }
  return into;
}

/** Every message the fields of `type` reach (a request's nested messages, e.g. `Consistency`; the request is inlined). */
export function fieldMessages(type: protobuf.Type, into: Map<string, protobuf.Type>): Map<string, protobuf.Type> {
  for (const f of type.fieldsArray) {
    if (f.resolvedType instanceof protobuf.Type) reachableMessages(f.resolvedType, into);
  }
  return into;
}
