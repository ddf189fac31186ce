// The seed pipeline's stages as sample jobs (compile, static analysis, unit test, secure
// coding, cf push), as the PaaS consoles' "Sample Job" menu offers them. Each names the
// resources it needs; those the pipeline lacks are added with ((vars)) to fill in.
export interface Sample { id: string; label: string; job: Record<string, any>; resources: Record<string, any>[] }

const source = { name: "source", type: "git", source: { uri: "((repo))", branch: "main" } };
const binaries = { name: "binaries", type: "artifact", source: { name: "binaries", retain: 20 } };
const reports = (n: string) => ({ name: `${n}-reports`, type: "artifact", source: { name: `${n}-reports`, retain: 20 } });
const inputs = (upstream: string) => ({
  in_parallel: [{ get: "source", passed: [upstream], trigger: true }, { get: "binaries", passed: [upstream] }],
});

export const SAMPLES: Sample[] = [
  { id: "compile", label: "Compile", resources: [source, binaries], job: {
    name: "compile", plan: [{ get: "source", trigger: true },
      { task: "compile", file: "source/ci/tasks/compile.yml" },
      { put: "binaries", params: { from: "binaries" } }] } },
  { id: "static-analysis", label: "Static analysis", resources: [source, binaries, reports("static-analysis")], job: {
    name: "static-analysis", plan: [inputs("compile"),
      { task: "cppcheck-and-clang-tidy", file: "source/ci/tasks/static-analysis.yml",
        ensure: { put: "static-analysis-reports", params: { from: "reports" } } }] } },
  { id: "unit-test", label: "Unit test", resources: [source, binaries, reports("unit-test")], job: {
    name: "unit-test", plan: [inputs("compile"),
      { task: "ctest", file: "source/ci/tasks/unit-test.yml",
        ensure: { put: "unit-test-reports", params: { from: "reports" } } }] } },
  { id: "secure-coding", label: "Secure coding", resources: [source, binaries, reports("secure-coding")], job: {
    name: "secure-coding", plan: [inputs("compile"),
      { task: "flawfinder", file: "source/ci/tasks/secure-coding.yml", params: { FAIL_LEVEL: 4 },
        ensure: { put: "secure-coding-reports", params: { from: "reports" } } }] } },
  { id: "cf-push", label: "Cloud Foundry push", resources: [source, binaries, {
    name: "app", type: "cf", source: { api: "((cf_api))", organization: "((cf_org))", space: "((cf_space))",
      username: "((cf_username))", password: "((cf_password))" } }], job: {
    name: "deploy", serial: true, plan: [inputs("compile"),
      { put: "app", params: { manifest: "binaries/manifest.yml", path: "binaries/app", strategy: "rolling" } }] } },
];
