// ARM's error contract in one place: routes and stores throw ArmError (or a domain issue list) and
// the error handler renders {"error":{code,message,target,details}} with the right status.

import type { DomainIssue } from "./domain/model.js";

export interface ArmErrorBody {
  code: string;
  message: string;
  target?: string;
  details: Array<{ code: string; message: string; target?: string }>;
}

export class ArmError extends Error {
  override name = "ArmError";
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly target?: string,
    readonly details: ArmErrorBody["details"] = [],
  ) {
    super(message);
  }

  toBody(): { error: ArmErrorBody } {
    const error: ArmErrorBody = { code: this.code, message: this.message, details: this.details };
    if (this.target !== undefined) error.target = this.target;
    return { error };
  }
}

/** Many domain issues → one 400 whose top level is the first issue and whose details list them all. */
export function issuesError(issues: DomainIssue[]): ArmError {
  const [first] = issues;
  const details = issues.map((i) => ({ code: i.code, message: i.message, ...(i.target ? { target: i.target } : {}) }));
  return new ArmError(400, first.code, first.message, first.target, details);
}

export const resourceGroupNotFound = (name: string) =>
  new ArmError(404, "ResourceGroupNotFound", `Resource group '${name}' could not be found.`);

export const resourceNotFound = (type: string, name: string, resourceGroup: string) =>
  new ArmError(
    404,
    "ResourceNotFound",
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );

/** Network RP's own not-found for child resources. */
export const childNotFound = (id: string) => new ArmError(404, "NotFound", `Resource ${id} not found.`);

export const preconditionFailed = (sent: string, actual: string | undefined, id: string) =>
  new ArmError(
    412,
    "PreconditionFailed",
    actual === undefined
      ? `Precondition failed: resource ${id} does not exist but the request requires it (If-Match ${sent}).`
      : `Etag provided in if-match header ${sent} does not match etag ${actual} of resource ${id} in NRP data store.`,
    undefined,
    actual === undefined ? [] : [{ code: "PreconditionFailedEtagMismatch", message: `Current etag is ${actual}.` }],
  );
