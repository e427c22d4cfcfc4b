import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "./config";

export type Tags = Record<string, string>;

/** `Name` plus the tags every resource of this project carries. */
export function tags(name: string): Tags {
  return { Name: name, Project: PROJECT, Stack: pulumi.getStack(), ManagedBy: "pulumi" };
}
