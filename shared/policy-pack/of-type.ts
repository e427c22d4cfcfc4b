import { ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";

/**
 * The inputs the rules read, by type token. The pack names types by token instead of importing
 * @pulumi/aws, so the engine's ts-node does not type-check all of its declarations at every preview.
 */
export interface Inputs {
  "aws:kms/key:Key": { enableKeyRotation?: boolean; policy?: string };
  "aws:ec2/instance:Instance": {
    metadataOptions?: { httpTokens?: string };
    associatePublicIpAddress?: boolean;
    keyName?: string;
  };
  "aws:ec2/subnet:Subnet": { mapPublicIpOnLaunch?: boolean };
  "aws:ec2/defaultSubnet:DefaultSubnet": { mapPublicIpOnLaunch?: boolean };
}

/** A validation for one resource type, as validateResourceOfType without the resource class. */
export const ofType =
  <T extends keyof Inputs>(
    type: T,
    validate: (props: Inputs[T], args: ResourceValidationArgs, report: ReportViolation) => void,
  ): ResourceValidation =>
  (args, report) => {
    if (args.type === type) validate(args.props as Inputs[T], args, report);
  };
