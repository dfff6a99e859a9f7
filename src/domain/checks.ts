// Small field checkers shared by the validation files: each pushes at most one issue per field.

import { canonicalIp } from "./ip.js";
import { Codes, formatIssue, issue, missingProperty } from "./issues.js";
import type { DomainIssue } from "./model.js";

export type Push = (i: DomainIssue) => void;

function split(path: string): [string, string] {
  const at = path.lastIndexOf(".");
  return at < 0 ? ["", path] : [path.slice(0, at), path.slice(at + 1)];
}

export function isPresent(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** Integer in [min, max]; `what` names it in the message. Returns true when usable. */
export function checkInt(
  push: Push, value: unknown, path: string, min: number, max: number, what: string, required = true,
): boolean {
  const [parent, prop] = split(path);
  if (!isPresent(value)) {
    if (required) push(missingProperty(prop, parent));
    return false;
  }
  if (typeof value !== "number" || !Number.isInteger(value)) {
    push(formatIssue("InvalidJsonPropertyValue", `Value '${String(value)}' of property '${prop}' is not an integer. Path '${path}'.`, path));
    return false;
  }
  if (value < min || value > max) {
    push(issue(Codes.PropertyValueOutOfRange, `${what} must be between ${min} and ${max}; ${value} is not.`, path));
    return false;
  }
  return true;
}

export function checkEnum(
  push: Push, value: unknown, path: string, allowed: readonly string[], required = true,
): boolean {
  const [parent, prop] = split(path);
  if (!isPresent(value)) {
    if (required) push(missingProperty(prop, parent));
    return false;
  }
  if (typeof value !== "string" || !allowed.includes(value)) {
    push(formatIssue("InvalidJsonEnumValue",
      `Value '${String(value)}' is not valid for property '${prop}'; allowed values are ${allowed.join(", ")}. Path '${path}'.`, path));
    return false;
  }
  return true;
}

export function checkRequired(push: Push, value: unknown, path: string): boolean {
  if (isPresent(value)) return true;
  const [parent, prop] = split(path);
  push(missingProperty(prop, parent));
  return false;
}

/** A reference object must carry a string id. */
export function checkRef(push: Push, ref: unknown, path: string, required: boolean): boolean {
  if (!isPresent(ref)) {
    if (required) checkRequired(push, ref, path);
    return false;
  }
  const id = (ref as { id?: unknown }).id;
  if (typeof id !== "string" || id === "") {
    push(formatIssue("MissingJsonReferenceId", `Reference at '${path}' has no id.`, `${path}.id`));
    return false;
  }
  return true;
}

export function checkIp(push: Push, value: unknown, path: string, what: string): string | undefined {
  const ip = canonicalIp(value);
  if (ip === undefined) {
    push(issue(Codes.InvalidIPAddress, `${what} '${String(value)}' is not a valid IPv4 or IPv6 address.`, path));
  }
  return ip;
}
