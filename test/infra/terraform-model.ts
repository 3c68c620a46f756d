import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from '@cdktf/hcl2json';

/**
 * terraform/ parsed with a real HCL parser (@cdktf/hcl2json, the HCL library Terraform uses, as
 * WebAssembly) into a small model the validation tests query. Expressions stay as hcl2json writes
 * them (`"${var.region}"`); `resolve` evaluates the simple references the contract needs (literals,
 * locals, variables, module arguments, each.key/each.value, a for_each instance's name).
 */
export const REPO_ROOT = path.join(__dirname, '..', '..');
export const TERRAFORM_DIR = path.join(REPO_ROOT, 'terraform');

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Body = Record<string, any>;

export interface TfModule {
  /** Folder relative to terraform/ ('' for the root module). */
  dir: string;
  files: Record<string, string>;
  resources: Record<string, Record<string, Body>>;
  data: Record<string, Record<string, Body>>;
  variables: Record<string, Body>;
  locals: Record<string, unknown>;
  outputs: Record<string, Body>;
  moduleCalls: Record<string, Body>;
  other: Body[];
}

export interface TfConfig {
  root: TfModule;
  /** Child modules by folder relative to terraform/ (e.g. 'modules/hospital'). */
  modules: Record<string, TfModule>;
}

function moduleDirs(dir: string): string[] {
  const found: string[] = [];
  const entries = readdirSync(dir);
  if (entries.some((e) => e.endsWith('.tf'))) found.push(dir);
  for (const e of entries) {
    const full = path.join(dir, e);
    if (!e.startsWith('.') && statSync(full).isDirectory()) found.push(...moduleDirs(full));
  }
  return found;
}

async function loadModule(dir: string): Promise<TfModule> {
  const mod: TfModule = {
    dir: path.relative(TERRAFORM_DIR, dir).split(path.sep).join('/'),
    files: {},
    resources: {},
    data: {},
    variables: {},
    locals: {},
    outputs: {},
    moduleCalls: {},
    other: [],
  };
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort()) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    mod.files[file] = text;
    const json = (await parse(file, text)) as Body;
    for (const [kind, value] of Object.entries(json)) {
      if (kind === 'resource' || kind === 'data') {
        const target = kind === 'resource' ? mod.resources : mod.data;
        for (const [type, byName] of Object.entries(value as Body))
          for (const [name, bodies] of Object.entries(byName as Body))
            (target[type] ??= {})[name] = (bodies as Body[])[0];
      } else if (kind === 'variable' || kind === 'output' || kind === 'module') {
        const target =
          kind === 'variable' ? mod.variables : kind === 'output' ? mod.outputs : mod.moduleCalls;
        for (const [name, bodies] of Object.entries(value as Body)) target[name] = (bodies as Body[])[0];
      } else if (kind === 'locals') {
        for (const block of value as Body[]) Object.assign(mod.locals, block);
      } else {
        mod.other.push({ [kind]: value });
      }
    }
  }
  return mod;
}

export async function loadTerraform(dir = TERRAFORM_DIR): Promise<TfConfig> {
  const modules = await Promise.all(moduleDirs(dir).map(loadModule));
  const root = modules.find((m) => m.dir === '');
  if (!root) throw new Error(`no .tf files in ${dir}`);
  return { root, modules: Object.fromEntries(modules.filter((m) => m !== root).map((m) => [m.dir, m])) };
}

/** A deep copy to mutate in failure-mode tests. */
export const cloneConfig = (config: TfConfig): TfConfig => structuredClone(config);

/** Every `${...}` expression in a parsed value, with nested braces balanced. */
export function expressions(value: unknown): string[] {
  const out: string[] = [];
  const visit = (v: unknown) => {
    if (typeof v === 'string') {
      for (let i = v.indexOf('${'); i >= 0; i = v.indexOf('${', i + 1)) {
        let depth = 0;
        for (let j = i + 1; j < v.length; j++) {
          if (v[j] === '{') depth++;
          else if (v[j] === '}' && --depth === 0) {
            out.push(v.slice(i + 2, j));
            break;
          }
        }
      }
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(value);
  return out;
}

// ------------------------------------------------------------------ resolving simple references

export class Unresolved extends Error {}

export interface Scope {
  config: TfConfig;
  module: TfModule;
  /** Arguments of the module call that instantiated `module`, resolved in `parent`. */
  args?: Body;
  parent?: Scope;
  each?: { key: string; value: unknown };
}

export const rootScope = (config: TfConfig): Scope => ({ config, module: config.root });

const WHOLE = /^\$\{([^{}]*)\}$/;

/** Resolves a value: literals as they are, `${ref}` to what the reference holds, `a${ref}b` to text. */
export function resolve(value: unknown, scope: Scope): unknown {
  if (typeof value !== 'string' || !value.includes('${')) return value;
  const whole = WHOLE.exec(value);
  if (whole) {
    // merge(a, b, ...) of maps the model can resolve: later keys win, as in Terraform.
    const merge = /^merge\((.*)\)$/.exec(whole[1].trim());
    if (merge)
      return Object.assign(
        {},
        ...merge[1].split(',').map((ref) => {
          const map = resolveRef(ref.trim(), scope);
          if (!map || typeof map !== 'object')
            throw new Unresolved(`merge argument ${ref.trim()} is not a map`);
          return map;
        }),
      );
    return resolveRef(whole[1].trim(), scope);
  }
  return value.replace(/\$\{([^{}]*)\}/g, (_, ref: string) => {
    const v = resolveRef(ref.trim(), scope);
    if (typeof v !== 'string' && typeof v !== 'number') throw new Unresolved(`\${${ref}} is not text`);
    return String(v);
  });
}

/** Like resolve, but a reference it cannot follow stays in the text as <reference>. */
export function resolveText(value: unknown, scope: Scope): string {
  if (typeof value !== 'string') return String(value);
  return value.replace(/\$\{([^{}]*)\}/g, (_, ref: string) => {
    try {
      const v = resolveRef(ref.trim(), scope);
      return typeof v === 'string' || typeof v === 'number' ? resolveText(String(v), scope) : `<${ref}>`;
    } catch (error) {
      if (!(error instanceof Unresolved)) throw error;
      // Follow a local or a module argument that is itself a template, keeping what it cannot follow.
      const [kind, name] = ref.trim().split('.');
      if (kind === 'local' && typeof scope.module.locals[name] === 'string')
        return resolveText(scope.module.locals[name], { ...scope, each: undefined });
      if (kind === 'var' && typeof scope.args?.[name] === 'string')
        return resolveText(scope.args[name], scope.parent!);
      return `<${ref.trim()}>`;
    }
  });
}

interface RefPart {
  name?: string;
  index?: string;
}

function refParts(ref: string): RefPart[] {
  const parts: RefPart[] = [];
  const re = /\.?([A-Za-z_][\w-]*)|\[([^\]]+)\]/y;
  let pos = 0;
  while (pos < ref.length) {
    re.lastIndex = pos;
    const m = re.exec(ref);
    if (!m) throw new Unresolved(`not a simple reference: ${ref}`);
    parts.push(m[1] !== undefined ? { name: m[1] } : { index: m[2].trim() });
    pos = re.lastIndex;
  }
  if (parts.length === 0 || !parts[0].name) throw new Unresolved(`not a simple reference: ${ref}`);
  return parts;
}

function indexValue(index: string, scope: Scope): string {
  const quoted = /^"(.*)"$/.exec(index);
  if (quoted) return quoted[1];
  const v = resolveRef(index, scope);
  if (typeof v !== 'string') throw new Unresolved(`index ${index}`);
  return v;
}

function walk(value: unknown, parts: RefPart[], scope: Scope, ref: string): unknown {
  let v = value;
  for (const p of parts) {
    const key = p.name ?? indexValue(p.index!, scope);
    if (v === null || typeof v !== 'object' || !(key in (v as Body)))
      throw new Unresolved(`${ref}: no '${key}'`);
    v = resolve((v as Body)[key], scope);
  }
  return v;
}

export function resolveRef(ref: string, scope: Scope): unknown {
  const parts = refParts(ref);
  const [head, second, ...rest] = parts;
  switch (head.name) {
    case 'each':
      if (!scope.each) throw new Unresolved(`${ref} outside for_each`);
      if (second?.name === 'key') return scope.each.key;
      if (second?.name === 'value') return walk(scope.each.value, rest, scope, ref);
      throw new Unresolved(ref);
    case 'local': {
      if (!second?.name || !(second.name in scope.module.locals)) throw new Unresolved(`${ref}: no local`);
      const local = resolve(scope.module.locals[second.name], { ...scope, each: undefined });
      return walk(local, rest, scope, ref);
    }
    case 'var': {
      const name = second?.name;
      if (!name) throw new Unresolved(ref);
      let v: unknown;
      if (scope.args && name in scope.args) v = resolve(scope.args[name], scope.parent!);
      else if (scope.module.variables[name] && 'default' in scope.module.variables[name])
        v = scope.module.variables[name].default;
      else throw new Unresolved(`${ref}: no value`);
      return walk(v, rest, scope, ref);
    }
    default: {
      // TYPE.NAME[INDEX].ATTR of a for_each resource: the instance's resolved name.
      const type = head.name!;
      const res = second?.name ? scope.module.resources[type]?.[second.name] : undefined;
      if (!res || !rest[0]?.index) throw new Unresolved(ref);
      const key = indexValue(rest[0].index, scope);
      const instance = instances(res, scope).find((i) => i.key === key);
      if (!instance) throw new Unresolved(`${ref}: no instance '${key}'`);
      return resolve(instance.body.name, instance.scope);
    }
  }
}

export interface Instance {
  key: string | null;
  body: Body;
  scope: Scope;
}

/** The instances of a resource or module call: one per for_each entry, or one. */
export function instances(body: Body, scope: Scope): Instance[] {
  if (body.for_each === undefined) return [{ key: null, body, scope }];
  const each = resolve(body.for_each, scope);
  if (each === null || typeof each !== 'object' || Array.isArray(each))
    throw new Unresolved(`for_each ${String(body.for_each)} is not a map`);
  return Object.entries(each as Body).map(([key, value]) => ({
    key,
    body,
    scope: { ...scope, each: { key, value } },
  }));
}

/** The scopes a child module runs in: one per instance of every module call of it. */
export function moduleScopes(config: TfConfig, dir: string): Scope[] {
  const root = rootScope(config);
  const child = config.modules[dir];
  if (!child) return [];
  return Object.values(config.root.moduleCalls)
    .filter((call) => path.posix.normalize(String(call.source).replace(/^\.\//, '')) === dir)
    .flatMap((call) =>
      instances(call, root).map((i) => ({ config, module: child, args: call, parent: i.scope })),
    );
}
