/** The project's identity: its name, its folder, its two sides and how config keys are named. */
import * as path from "path";

export const PROJECT = "cross-account-s3-kms" as const;
/** The folder of Pulumi.yaml and package.json. */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
/** The two stacks, in deploy order: each is a side of the program. */
export const SIDES = ["source", "target"] as const;
export type Side = (typeof SIDES)[number];

/** A stack's file, Pulumi.<stack>.yaml, in the project folder (or another). */
export const stackFilePath = (stack: string, root: string = PROJECT_ROOT): string =>
  path.join(root, `Pulumi.${stack}.yaml`);

/** All config of a stack, fully-qualified keys to raw strings, as Pulumi hands it to the program. */
export type RawConfig = Record<string, string>;

/** The fully-qualified config key, typed as a literal so schemas keep their field types. */
export const configKey = <N extends string>(name: N): `${typeof PROJECT}:${N}` => `${PROJECT}:${name}`;
