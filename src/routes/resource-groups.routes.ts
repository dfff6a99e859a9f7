// Microsoft.Resources/resourceGroups as @azure/arm-resources 8 calls it (lower-case
// "resourcegroups"; the router is case-insensitive so "resourceGroups" works too).

import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Errors, withStatusAndCode } from "../errors.js";
import { RESOURCES_API_VERSIONS } from "./api-versions.js";
import { baseUrl, listAnswer, pageRequestOf, sendStatusOnly } from "./arm-common.js";
import {
  OperationResultParams, ResourceGroupListSchema, ResourceGroupPatchSchema, ResourceGroupSchema, checkResourceGroupName,
} from "./resource-groups.schemas.js";
import {
  LOCATION_HEADERS, ResourceGroupDeleteQuery, ResourceGroupParams, ResourcesApiVersionQuery, ResourcesListQuery,
  SubscriptionParams, armErrors, armErrorsWithConflict, armWriteErrors, noBody,
} from "./schemas/arm.schema.js";
import { callerScope } from "./auth.js";
import { toResourceGroupResource } from "./resource-groups.view.js";
import { findResourceGroup, listResourceGroups } from "../store/resource-groups.store.js";
import {
  deleteResourceGroup, patchResourceGroup, putResourceGroup, requireResourceGroup, requireResourceGroupOperation,
} from "../services/resource-groups.service.js";

const RG_PATH = "/subscriptions/:subscriptionId/resourcegroups/:resourceGroupName";
const tags = ["ResourceGroups"];
const config = { apiVersions: RESOURCES_API_VERSIONS };


export async function resourceGroupRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = () => app.deps.db;
  const deps = () => app.deps;

  app.put(
    RG_PATH,
    {
      config,
      schema: {
        operationId: "ResourceGroups_CreateOrUpdate",
        tags,
        summary: "Create or update a resource group (201 created, 200 updated)",
        params: ResourceGroupParams,
        querystring: ResourcesApiVersionQuery,
        body: ResourceGroupSchema,
        response: {
          ...armWriteErrors,
          200: { ...ResourceGroupSchema, "x-response-description": "Updated" },
          201: { ...ResourceGroupSchema, "x-response-description": "Created" },
        },
      },
    },
    async (request, reply) => {
      const { subscriptionId, resourceGroupName } = request.params;
      checkResourceGroupName(resourceGroupName);
      const { location, tags: rgTags, managedBy } = request.body;
      const { row, created } = await putResourceGroup(
        deps(),
        { subscriptionId, name: resourceGroupName },
        { location, tags: rgTags ?? {}, managedBy },
      );
      return reply.code(created ? 201 : 200).send(toResourceGroupResource(row));
    },
  );

  // Declared before GET so it replaces fastify's automatic HEAD: checkExistence needs 204/404 (200 throws).
  app.head(
    RG_PATH,
    {
      // @fastify/swagger leaves HEAD routes out unless asked (it suffixes the operationId with "-head").
      config: { ...config, swagger: { exposeHeadRoute: true } },
      schema: {
        operationId: "ResourceGroups_CheckExistence",
        tags,
        summary: "Check whether a resource group exists (204 yes, 404 no)",
        params: ResourceGroupParams,
        querystring: ResourcesApiVersionQuery,
        response: { ...armErrors, 204: noBody("The resource group exists") },
      },
    },
    async (request, reply) => {
      const { subscriptionId, resourceGroupName } = request.params;
      const rg = await findResourceGroup(db(), subscriptionId, resourceGroupName);
      return sendStatusOnly(reply, rg ? 204 : 404);
    },
  );

  app.get(
    RG_PATH,
    {
      config,
      exposeHeadRoute: false,
      schema: {
        operationId: "ResourceGroups_Get",
        tags,
        summary: "Get a resource group",
        params: ResourceGroupParams,
        querystring: ResourcesApiVersionQuery,
        response: { ...armErrors, 200: ResourceGroupSchema },
      },
    },
    async (request) => {
      const { subscriptionId, resourceGroupName } = request.params;
      return toResourceGroupResource(await requireResourceGroup(db(), subscriptionId, resourceGroupName));
    },
  );

  app.patch(
    RG_PATH,
    {
      config,
      schema: {
        operationId: "ResourceGroups_Update",
        tags,
        summary: "Update a resource group's tags (replacing the whole set) and managedBy",
        params: ResourceGroupParams,
        querystring: ResourcesApiVersionQuery,
        body: ResourceGroupPatchSchema,
        response: { ...armWriteErrors, 200: ResourceGroupSchema },
      },
    },
    async (request) => {
      const { subscriptionId, resourceGroupName } = request.params;
      const { tags: rgTags, managedBy } = request.body;
      const row = await patchResourceGroup(deps(), { subscriptionId, name: resourceGroupName }, { tags: rgTags, managedBy });
      return toResourceGroupResource(row);
    },
  );

  app.delete(
    RG_PATH,
    {
      config,
      schema: {
        operationId: "ResourceGroups_Delete",
        tags,
        summary: "Delete a resource group and everything in it (202 + Location to poll)",
        description:
          "Deletes the group's load balancers and public IP addresses in one transaction. Refused with 409 " +
          "ResourceGroupDeletionBlocked while a load balancer in another group uses one of its public IPs.",
        params: ResourceGroupParams,
        querystring: ResourceGroupDeleteQuery,
        response: { ...armErrorsWithConflict, 202: noBody("Accepted; poll the Location header", LOCATION_HEADERS) },
      },
    },
    async (request, reply) => {
      const { subscriptionId, resourceGroupName } = request.params;
      const { operationId } = await deleteResourceGroup(deps(), { subscriptionId, name: resourceGroupName }, callerScope(request));
      // The poll URL carries the caller's api-version, as ARM's does: a client pinned to an older
      // version keeps speaking it.
      const version = encodeURIComponent(request.query["api-version"]);
      reply.header("location", `${baseUrl(request)}/subscriptions/${subscriptionId}/operationresults/${operationId}?api-version=${version}`);
      reply.header("retry-after", "0");
      return sendStatusOnly(reply, 202);
    },
  );

  app.get(
    "/subscriptions/:subscriptionId/resourcegroups",
    {
      config,
      schema: {
        operationId: "ResourceGroups_List",
        tags,
        summary: "List the subscription's resource groups (paged with nextLink)",
        params: SubscriptionParams,
        querystring: ResourcesListQuery,
        response: { ...armErrors, 200: ResourceGroupListSchema },
      },
    },
    async (request) => {
      return listAnswer(request, await listResourceGroups(db(), request.params.subscriptionId, pageRequestOf(request)), toResourceGroupResource);
    },
  );

  app.get(
    "/subscriptions/:subscriptionId/operationresults/:operationId",
    {
      config,
      schema: {
        operationId: "ResourceGroupOperationResults_Get",
        tags,
        summary: "Result of an asynchronous resource-group operation (202 running, 200 done)",
        params: OperationResultParams,
        querystring: ResourcesApiVersionQuery,
        response: {
          ...armErrorsWithConflict,
          200: noBody("The operation succeeded"),
          202: noBody("Still running; poll again", LOCATION_HEADERS),
        },
      },
    },
    async (request, reply) => {
      const { subscriptionId, operationId } = request.params;
      const op = await requireResourceGroupOperation(deps(), subscriptionId, operationId);
      if (op.status === "InProgress") {
        reply.header("retry-after", "1").header("location", `${baseUrl(request)}${request.url}`);
        return sendStatusOnly(reply, 202);
      }
      if (op.status === "Succeeded") return sendStatusOnly(reply, 200);
      const error = op.error as { code?: string; message?: string } | null;
      throw withStatusAndCode(Errors.operationFailed(error, `Operation '${operationId}' failed.`), 409, error?.code);
    },
  );
}
