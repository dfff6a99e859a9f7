// Wire shapes of Microsoft.Resources/resourceGroups, one named schema for requests and responses
// (read-only members typed and marked readOnly). Request bodies reject unknown members so a
// misspelled field is an error, not silently dropped; echoed read-only members are ignored.

import { Type, type Static } from "typebox";
import { LocationSchema, ReadOnly, SubscriptionParams, TagsSchema } from "./schemas/arm.schema.js";
import { RESOURCE_GROUP_EXAMPLE } from "./schemas/examples.js";
import { Errors } from "../errors.js";
import { isValidResourceName } from "../domain/ids.js";

const strict = { additionalProperties: false } as const;

const PropertiesSchema = Type.Object(
  { provisioningState: ReadOnly(Type.String({ description: "Always Succeeded: every resource group write completes in its request" })) },
  { ...strict, title: "ResourceGroupProperties" },
);

/** One schema for requests and responses; read-only members a client echoes back are ignored. */
export const ResourceGroupSchema = Type.Object(
  {
    id: ReadOnly(Type.String()),
    name: ReadOnly(Type.String()),
    type: ReadOnly(Type.String()),
    location: LocationSchema,
    tags: Type.Optional(TagsSchema),
    managedBy: Type.Optional(Type.String({ maxLength: 1024 })),
    properties: Type.Optional(PropertiesSchema),
  },
  { ...strict, title: "ResourceGroup", description: "Resource group", examples: [RESOURCE_GROUP_EXAMPLE] },
);
export type ResourceGroupBody = Static<typeof ResourceGroupSchema>;
export type ResourceGroupResource = ResourceGroupBody;

export const ResourceGroupPatchSchema = Type.Object(
  {
    name: ReadOnly(Type.String()),
    tags: Type.Optional(TagsSchema),
    managedBy: Type.Optional(Type.String({ maxLength: 1024 })),
    properties: Type.Optional(PropertiesSchema),
    id: ReadOnly(Type.String()),
    type: ReadOnly(Type.String()),
  },
  {
    ...strict, title: "ResourceGroupPatchable",
    description: "Resource group changes: tags (replacing the whole set) and managedBy",
    examples: [{ tags: { purpose: "seed", owner: "network-team" } }],
  },
);
export type ResourceGroupPatch = Static<typeof ResourceGroupPatchSchema>;

export const ResourceGroupListSchema = Type.Object(
  { value: Type.Array(ResourceGroupSchema), nextLink: Type.Optional(Type.String({ description: "URL of the next page; absent on the last" })) },
  { title: "ResourceGroupListResult" },
);

export const OperationResultParams = Type.Object({
  ...SubscriptionParams.properties,
  operationId: Type.String({ description: "The operation (from the Location header of a DELETE)" }),
});

/** Azure's resource group naming rule, with Azure's code for a violation. */
export function checkResourceGroupName(name: string): void {
  if (!isValidResourceName(name, "resourceGroup")) {
    throw Errors.invalidResourceGroupName(name);
  }
}
