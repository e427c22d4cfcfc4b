// ESLint flat config, at the root where editors find it.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "bin/**", ".pulumi-state/**", ".tmp/**", ".ci/**", "eslint.config.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: process.cwd() } },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-floating-promises": "error",
      // Pulumi resources are declared for their side effect.
      "no-new": "off",
    },
  },
  {
    // What `pulumi up` loads ships with runtime dependencies only: never the AGPL simulator, the offline harness or the tools.
    files: ["shared/program/**/*.ts", "source-account/**/*.ts", "target-account/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@cloud-copilot/*"],
              message:
                "The program must not load the AGPL policy simulator: it is a devDependency for tests and tools.",
            },
            {
              group: ["**/offline", "**/offline/**"],
              message: "The offline harness is for development only; the program must not import it.",
            },
            {
              group: ["**/tools", "**/tools/**"],
              message: "The tools sit above the program; the program must not import them.",
            },
          ],
        },
      ],
    },
  },
);
