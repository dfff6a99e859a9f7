// The error codes the domain emits, in one catalogue so the README table and the routes agree.
// Azure's own codes where one is known (reference/azure-arm-lb.md §4.1 and real payloads); the ones
// marked "lbplane" are this project's own PascalCase codes for rules Azure enforces without a
// published code, or for lbplane-specific limits (no subnets to allocate from).

import type { DomainIssue } from "./model.js";

export const Codes = {
  // Azure
  InvalidRequestFormat: "InvalidRequestFormat",
  InvalidResourceReference: "InvalidResourceReference",
  InvalidResourceName: "InvalidResourceName",
  MultipleIpConfigsRequestSamePrivateIpAddress: "MultipleIpConfigsRequestSamePrivateIpAddress",
  PublicIPAddressInUse: "PublicIPAddressInUse",
  FrontendIPConfigHasNoSubnetOrPublicIP: "FrontendIPConfigHasNoSubnetOrPublicIP",
  FrontendIPConfigHasBothSubnetAndPublicIP: "FrontendIPConfigHasBothSubnetAndPublicIP",
  LoadBalancerWithoutFrontendIPCantHaveChildResources: "LoadBalancerWithoutFrontendIPCantHaveChildResources",
  DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed: "DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed",
  LoadBalancingRuleMustDisableSNAT:
    "LoadBalancingRuleMustDisableSNATSinceSameFrontendIPConfigurationIsReferencedByOutboundRule",
  MoreThanOneOutboundRule: "MoreThanOneOutboundRuleUsingSameFrontendIPConfigurationAndProtocolIsNotSupported",
  RulesUseSameBackendPortProtocolAndPool: "RulesUseSameBackendPortProtocolAndPool",
  RulesUseSameBackendPortProtocolAndIPConfig: "RulesUseSameBackendPortProtocolAndIPConfig",
  RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig:
    "RulesOfSameLoadBalancerTypeUseSameBackendPortProtocolAndIPConfig",
  MissedInboundNatRuleV2Properties: "MissedInboundNatRuleV2Properties",
  UnsupportedSetOfInboundNatRulePropertiesWhenFrontendPortIsSpecified:
    "UnsupportedSetOfInboundNatRulePropertiesWhenFrontendPortIsSpecified",
  LoadBalancerFrontendIPConfigurationCountLimitReached: "LoadBalancerFrontendIPConfigurationCountLimitReached",
  SnatPortsNotMultipleOfEight: "SpecifiedAllocatedOutboundPortsForOutboundRuleIsNotAMultipleOfEight",
  SnatPortsExceedAvailable: "SpecifiedAllocatedOutboundPortsForOutboundRuleExceedsTotalNumberOfAvailablePorts",
  // lbplane
  RulesUseSameFrontendIPProtocolAndPort: "RulesUseSameFrontendIPProtocolAndPort",
  FrontendIPAddressInUseByAnotherLoadBalancer: "FrontendIPAddressInUseByAnotherLoadBalancer",
  HaPortsRuleOnlySupportedOnInternalLoadBalancer: "HaPortsRuleOnlySupportedOnInternalLoadBalancer",
  HaPortsRuleRequiresStandardSku: "HaPortsRuleRequiresStandardSku",
  InvalidHaPortsRule: "InvalidHaPortsRule",
  LoadBalancerMixesPublicAndInternalFrontends: "LoadBalancerMixesPublicAndInternalFrontends",
  PublicIPAddressNotAllocated: "PublicIPAddressNotAllocated",
  InvalidIPAddress: "InvalidIPAddress",
  PropertyValueOutOfRange: "PropertyValueOutOfRange",
  ProbeRequestPathRequired: "ProbeRequestPathRequired",
  ProbeRequestPathNotAllowed: "ProbeRequestPathNotAllowed",
  InboundNatRuleFrontendPortRangeTooSmall: "InboundNatRuleFrontendPortRangeTooSmall",
  InboundNatRuleHasBothBackendIPAddressAndPool: "InboundNatRuleHasBothBackendIPAddressAndPool",
  OutboundRuleRequiresPublicFrontend: "OutboundRuleRequiresPublicFrontendIPConfiguration",
  LoadBalancerRuleCountLimitReached: "LoadBalancerRuleCountLimitReached",
  LoadBalancerOutboundRuleCountLimitReached: "LoadBalancerOutboundRuleCountLimitReached",
  LoadBalancerBackendPoolSizeLimitReached: "LoadBalancerBackendPoolSizeLimitReached",
  LoadBalancerIpConfigurationCountLimitReached: "LoadBalancerIpConfigurationCountLimitReached",
} as const;

export type Code = (typeof Codes)[keyof typeof Codes];

export function issue(code: Code, message: string, target?: string): DomainIssue {
  return target === undefined ? { code, message } : { code, message, target };
}

/** Azure's shape for request-shape problems: "Cannot parse the request." + one detail. */
export function formatIssue(detailCode: string, detail: string, target?: string): DomainIssue {
  return {
    code: Codes.InvalidRequestFormat,
    message: `Cannot parse the request. ${detail}`,
    ...(target === undefined ? {} : { target }),
    details: [{ code: detailCode, message: detail, ...(target === undefined ? {} : { target }) }],
  };
}

export function missingProperty(property: string, parentPath: string): DomainIssue {
  const path = parentPath ? `${parentPath}.${property}` : property;
  return formatIssue(
    "MissingJsonProperty",
    `Required property '${property}' not found in JSON. Path '${parentPath || "$"}'.`,
    path,
  );
}

export function invalidReference(refId: string, byId: string, target: string): DomainIssue {
  return issue(
    Codes.InvalidResourceReference,
    `Resource ${refId} referenced by resource ${byId} was not found. Please make sure that the ` +
      `referenced resource exists, and that both resources are in the same region.`,
    target,
  );
}
