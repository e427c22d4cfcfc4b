/**
 * The CrossGuard policy pack: `pulumi preview --policy-pack shared/policy-pack`. Every rule is
 * mandatory; see policies.ts and the README's CI section.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("cross-account-s3-kms-baseline", { policies });
