"use strict";
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

// src/crash-reporter.lambda.ts
var crash_reporter_lambda_exports = {};
__export(crash_reporter_lambda_exports, {
  handler: () => handler
});
module.exports = __toCommonJS(crash_reporter_lambda_exports);

// src/runtime/logger.ts
var LEVEL_ORDER = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };
function createJsonLogger(options = {}) {
  const threshold = LEVEL_ORDER[options.level ?? levelFromEnvironment()];
  const write = options.write ?? ((line) => process.stdout.write(line));
  const base = options.attributes ?? {};
  const log = (level) => (message, ...attributes) => {
    if (LEVEL_ORDER[level] < threshold) {
      return;
    }
    const entry = Object.assign({ timestamp: (/* @__PURE__ */ new Date()).toISOString(), level, message }, base, ...attributes);
    write(`${safeJson(entry)}
`);
  };
  return { debug: log("DEBUG"), info: log("INFO"), warn: log("WARN"), error: log("ERROR") };
}
function withAttributes(base, attributes) {
  const log = (method) => (message, ...more) => base[method](message, Object.assign({}, attributes, ...more.map(redactForLog)));
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}
function levelFromEnvironment() {
  const value = (process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? process.env.AWS_LAMBDA_LOG_LEVEL ?? "").toUpperCase();
  if (value === "TRACE") return "DEBUG";
  if (value === "FATAL" || value === "CRITICAL") return "ERROR";
  return value in LEVEL_ORDER ? value : "INFO";
}
var SECRET_KEYS = /^(secretAccessKey|sessionToken|SecretAccessKey|SessionToken|secret_access_key|session_token|aws_secret_access_key|aws_session_token)$/;
var REDACTED = "[redacted]";
function redactForLog(value) {
  return JSON.parse(safeJson(value) ?? "null");
}
function safeJson(value) {
  const seen = /* @__PURE__ */ new WeakSet();
  return JSON.stringify(value, function replacer(key, v) {
    if (key !== "" && SECRET_KEYS.test(key) && v !== void 0 && v !== null) {
      return REDACTED;
    }
    if (v instanceof Error) {
      return errorFields(v);
    }
    if (typeof v === "bigint") {
      return v.toString();
    }
    if (typeof v === "object" && v !== null) {
      if (seen.has(v)) return "[circular]";
      seen.add(v);
    }
    return v;
  });
}
function errorFields(error) {
  return { ...error, name: error.name, message: error.message, stack: error.stack };
}

// src/runtime/report.ts
var import_client_codepipeline = require("@aws-sdk/client-codepipeline");

// src/runtime/abort.ts
var MAX_TIMER_MS = 2147483647;
function abortReason(signal) {
  const reason = signal.reason;
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`);
}
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// src/runtime/job-result-role.ts
var JobResultRoleError = class extends Error {
  constructor(roleArn, cause) {
    super(`could not assume ${roleArn}: ${describe(cause)}`);
    this.roleArn = roleArn;
    this.cause = cause;
    this.name = "JobResultRoleError";
  }
};
var REFRESH_BEFORE_EXPIRY_MS = 5 * 60 * 1e3;
var SESSION_NAME_MAX_LENGTH = 64;
var cache = /* @__PURE__ */ new Map();
var stsClient;
function jobResultRoleCredentials(roleArn) {
  return async () => {
    const key = `${stsConfigurationKey()}|${roleArn}`;
    let entry = cache.get(roleArn);
    if (entry === void 0 || entry.key !== key) {
      entry = { key };
      cache.set(roleArn, entry);
    }
    const current = entry.credentials;
    if (current !== void 0 && (current.expiration === void 0 || current.expiration.getTime() - Date.now() > REFRESH_BEFORE_EXPIRY_MS)) {
      return current;
    }
    let pending = entry.pending;
    if (pending === void 0) {
      const slot = entry;
      pending = assumeRole(roleArn).then(
        (credentials) => {
          slot.credentials = credentials;
          slot.pending = void 0;
          return credentials;
        },
        (error) => {
          slot.pending = void 0;
          throw error;
        }
      );
      slot.pending = pending;
    }
    return pending;
  };
}
async function assumeRole(roleArn) {
  let answer;
  try {
    const { AssumeRoleCommand } = await loadSts();
    answer = await (await sts()).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName() }));
  } catch (error) {
    throw new JobResultRoleError(roleArn, error);
  }
  const c = answer.Credentials;
  if (c?.AccessKeyId === void 0 || c.SecretAccessKey === void 0) {
    throw new JobResultRoleError(roleArn, new Error("STS answered without credentials"));
  }
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    ...c.SessionToken !== void 0 ? { sessionToken: c.SessionToken } : {},
    ...c.Expiration !== void 0 ? { expiration: new Date(c.Expiration) } : {}
  };
}
async function sts() {
  const { STSClient: Client } = await loadSts();
  const key = stsConfigurationKey();
  if (stsClient?.key !== key) {
    stsClient?.client.destroy();
    stsClient = { key, client: new Client({}) };
  }
  return stsClient.client;
}
async function loadSts() {
  return require("@aws-sdk/client-sts");
}
function stsConfigurationKey() {
  const env = process.env;
  return [env.AWS_ENDPOINT_URL_STS, env.AWS_ENDPOINT_URL, env.AWS_REGION, env.AWS_ACCESS_KEY_ID, env.AWS_PROFILE].join("|");
}
function sessionName() {
  const name = (process.env.AWS_LAMBDA_FUNCTION_NAME ?? "cdk-codepipeline-invoke").replace(/[^\w+=,.@-]/g, "-");
  return name.length >= 2 ? name.slice(0, SESSION_NAME_MAX_LENGTH) : "cdk-codepipeline-invoke";
}
function describe(error) {
  if (typeof error === "object" && error !== null) {
    const { name, message } = error;
    const code = typeof name === "string" && name !== "" ? name : "Error";
    return typeof message === "string" && message !== "" ? `${code}: ${message}` : code;
  }
  return String(error);
}

// src/runtime/text.ts
function truncateWithMarker(text, max) {
  if (text.length <= max) {
    return text;
  }
  const marker = (cut) => ` \u2026[${cut} characters cut]`;
  let keep = Math.max(0, max - marker(text.length).length);
  while (keep + 1 + marker(text.length - keep - 1).length <= max) keep++;
  if (keep > 0 && isHighSurrogate(text.charCodeAt(keep - 1))) {
    keep -= 1;
  }
  return `${text.slice(0, keep)}${marker(text.length - keep)}`.slice(0, max);
}
function isHighSurrogate(code) {
  return code >= 55296 && code <= 56319;
}

// src/shared/job-result-target.ts
var JOB_RESULT_ROLE_ARN_ENV = "CODEPIPELINE_JOB_RESULT_ROLE_ARN";
var JOB_REGION_ENV = "CODEPIPELINE_JOB_REGION";
var CRASH_REPORTER_TARGETS_ENV = "CODEPIPELINE_JOB_RESULT_TARGETS";
function jobResultTargetFromEnvironment(env) {
  return cleanTarget({ roleArn: env[JOB_RESULT_ROLE_ARN_ENV], region: env[JOB_REGION_ENV] });
}
function jobResultTargetFor(targetsJson, functionArnOrName) {
  if (targetsJson === void 0 || targetsJson.trim() === "" || functionArnOrName === void 0) {
    return {};
  }
  let targets;
  try {
    targets = JSON.parse(targetsJson);
  } catch (error) {
    throw new Error(`${CRASH_REPORTER_TARGETS_ENV} is not JSON: ${error.message}`);
  }
  if (typeof targets !== "object" || targets === null || Array.isArray(targets)) {
    throw new Error(`${CRASH_REPORTER_TARGETS_ENV} must be a JSON object keyed by function name`);
  }
  const entry = targets[functionNameOf(functionArnOrName)];
  if (typeof entry !== "object" || entry === null) {
    return {};
  }
  const { roleArn, region } = entry;
  return cleanTarget({ roleArn: typeof roleArn === "string" ? roleArn : void 0, region: typeof region === "string" ? region : void 0 });
}
function functionNameOf(functionArnOrName) {
  const parts = functionArnOrName.split(":");
  return parts.length >= 7 && parts[0] === "arn" && parts[5] === "function" ? parts[6] : functionArnOrName;
}
function cleanTarget(target) {
  return {
    ...target.roleArn !== void 0 && target.roleArn.trim() !== "" ? { roleArn: target.roleArn.trim() } : {},
    ...target.region !== void 0 && target.region.trim() !== "" ? { region: target.region.trim() } : {}
  };
}

// src/shared/limits.ts
var ACTION_CONFIGURATION_MAX_BYTES = 100 * 1024;
var FAILURE_MESSAGE_MAX_LENGTH = 5e3;
var EXTERNAL_EXECUTION_ID_MAX_LENGTH = 1500;

// src/runtime/report.ts
var REPORT_RETRY_BUDGET_WITHOUT_DEADLINE_MS = 1e4;
var RETRY_BASE_DELAY_MS = 50;
var RETRY_MAX_DELAY_MS = 2e3;
var JobReportError = class extends Error {
  constructor(message, cause, attempts) {
    super(message);
    this.cause = cause;
    this.attempts = attempts;
    this.name = "JobReportError";
  }
};
var clients = /* @__PURE__ */ new Map();
function defaultCodePipelineClient(target = jobResultTargetFromEnvironment(process.env)) {
  const env = process.env;
  const configuration = [env.AWS_ENDPOINT_URL_CODEPIPELINE, env.AWS_ENDPOINT_URL, env.AWS_REGION, env.AWS_ACCESS_KEY_ID, env.AWS_PROFILE].join("|");
  const key = `${target.roleArn ?? ""}|${target.region ?? ""}`;
  let client = clients.get(key);
  if (client !== void 0 && clientConfigurations.get(client) !== configuration) {
    client.destroy();
    client = void 0;
  }
  if (client === void 0) {
    client = new import_client_codepipeline.CodePipelineClient({
      ...target.region !== void 0 ? { region: target.region } : {},
      ...target.roleArn !== void 0 ? { credentials: jobResultRoleCredentials(target.roleArn) } : {}
    });
    clients.set(key, client);
    clientConfigurations.set(client, configuration);
  }
  return client;
}
var clientConfigurations = /* @__PURE__ */ new WeakMap();
function failureMessage(message) {
  const text = message.trim() === "" ? "The job failed without a message" : message;
  return truncateWithMarker(text, FAILURE_MESSAGE_MAX_LENGTH);
}
async function putJobFailure(client, jobId, failure, logger, deadline) {
  const input = {
    jobId,
    failureDetails: {
      type: failure.type,
      message: failureMessage(failure.message),
      ...failure.externalExecutionId !== void 0 ? { externalExecutionId: failure.externalExecutionId } : {}
    }
  };
  return send((abortSignal) => client.send(new import_client_codepipeline.PutJobFailureResultCommand(input), { abortSignal }), "PutJobFailureResult", jobId, logger, deadline);
}
var SuccessRefused = class extends Error {
  constructor(cause) {
    super(describeError(cause));
    this.cause = cause;
    this.name = "SuccessRefused";
  }
};
async function send(call, operation, jobId, logger, given) {
  const deadline = given !== void 0 && Number.isFinite(given.remainingTimeMs()) ? given : budgetFromNow(REPORT_RETRY_BUDGET_WITHOUT_DEADLINE_MS);
  const timeLeft = () => deadline.remainingTimeMs() - deadline.reserveMs;
  for (let attempt = 1; ; attempt++) {
    const left = timeLeft();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.min(Math.max(0, left), MAX_TIMER_MS));
    try {
      await call(controller.signal);
      return "reported";
    } catch (error) {
      const name = errorName(error);
      if (name === "InvalidJobStateException") {
        logger.warn(`${operation}: the job has already ended (a duplicate delivery?); nothing to report`, { error });
        return "already-ended";
      }
      if (name === "JobNotFoundException") {
        logger.error(`${operation}: CodePipeline does not know this job; nothing to report`, { error });
        return "job-not-found";
      }
      if (controller.signal.aborted) {
        throw new JobReportError(
          `${operation} did not complete within the invocation's remaining time (attempt ${attempt}, ${Math.max(0, Math.round(left))} ms left for it); the invocation fails so that Lambda retries it`,
          error,
          attempt
        );
      }
      const roleError = jobResultRoleErrorOf(error);
      if (roleError !== void 0 && !isRetryable(roleError.cause)) {
        throw new JobReportError(`${operation}: could not assume ${roleError.roleArn} to report job ${jobId}: ${describeError(roleError.cause)}`, error, attempt);
      }
      if (!isRetryable(roleError?.cause ?? error)) {
        if (operation === "PutJobSuccessResult" && isClientError(error)) throw new SuccessRefused(error);
        throw error;
      }
      const delay = backoffDelay(attempt);
      if (timeLeft() - delay <= 0) {
        throw new JobReportError(
          `${operation} failed ${attempt} time${attempt === 1 ? "" : "s"} and the invocation has no time left to retry; last error: ${describeError(error)}. The invocation fails so that Lambda retries it`,
          error,
          attempt
        );
      }
      logger.warn(`${operation} failed (${describeError(error)}); retrying in ${delay} ms`, { attempt });
      await sleep(delay, void 0);
    } finally {
      clearTimeout(timer);
    }
  }
}
function jobResultRoleErrorOf(error) {
  for (let e = error, depth = 0; e !== void 0 && e !== null && depth < 3; e = e.cause, depth++) {
    if (e instanceof JobResultRoleError) return e;
  }
  return void 0;
}
function budgetFromNow(ms) {
  const end = Date.now() + ms;
  return { remainingTimeMs: () => end - Date.now(), reserveMs: 0 };
}
function backoffDelay(attempt) {
  const step = Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS * 2 ** (attempt - 1));
  return Math.round(step / 2 + Math.random() * (step / 2));
}
var THROTTLING_ERROR_NAMES = /* @__PURE__ */ new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "ThrottledException",
  "SlowDown"
]);
var NETWORK_ERROR_CODES = /* @__PURE__ */ new Set(["ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
var NETWORK_ERROR_PATTERN = new RegExp(`\\b(?:${[...NETWORK_ERROR_CODES].join("|")})\\b|socket hang up|\\bTimeoutError\\b`);
function fields(error) {
  return typeof error === "object" && error !== null ? error : {};
}
function errorName(error) {
  const name = fields(error).name;
  return typeof name === "string" ? name : void 0;
}
function httpStatus(error) {
  const status = fields(error).$metadata?.httpStatusCode;
  return typeof status === "number" ? status : void 0;
}
function isRetryable(error) {
  const f = fields(error);
  const name = errorName(error) ?? "";
  if (THROTTLING_ERROR_NAMES.has(name) || f.$retryable !== void 0) return true;
  const status = httpStatus(error);
  if (status !== void 0) return status === 429 || status >= 500;
  if (f.$fault === "server") return true;
  if (typeof f.code === "string" && NETWORK_ERROR_CODES.has(f.code) || name === "TimeoutError" || name === "RequestTimeout") return true;
  return typeof f.message === "string" && NETWORK_ERROR_PATTERN.test(f.message);
}
function isClientError(error) {
  const status = httpStatus(error);
  return status !== void 0 ? status >= 400 && status < 500 : fields(error).$fault === "client";
}
function describeError(error) {
  const f = fields(error);
  const name = errorName(error) ?? "Error";
  const message = typeof f.message === "string" && f.message !== "" ? f.message : String(error);
  return `${name}: ${message}`;
}

// src/shared/errors.ts
var InvalidJobEventError = class extends Error {
  /** The dotted path of the bad field; '' when the event itself is not an object. */
  path;
  /** What is wrong with the field, e.g. 'must be a string, got a number'. */
  problem;
  constructor(path, problem) {
    super(`Invalid CodePipeline job event: ${path === "" ? "the event" : path} ${problem}`);
    this.name = "InvalidJobEventError";
    this.path = path;
    this.problem = problem;
  }
};

// src/shared/event.ts
function parseJobEvent(raw) {
  const root = objectAt(raw, "");
  const jobPath = "CodePipeline.job";
  const job = objectAt(root[jobPath], jobPath);
  const details = {
    ...job,
    id: nonEmptyStringAt(job.id, `${jobPath}.id`),
    accountId: nonEmptyStringAt(job.accountId, `${jobPath}.accountId`),
    data: parseJobData(job.data, `${jobPath}.data`)
  };
  return { ...root, [jobPath]: details };
}
function parseJobData(value, path) {
  const data = objectAt(value, path);
  const parsed = {
    ...data,
    actionConfiguration: parseActionConfiguration(data.actionConfiguration, `${path}.actionConfiguration`),
    inputArtifacts: artifactsAt(data.inputArtifacts, `${path}.inputArtifacts`),
    outputArtifacts: artifactsAt(data.outputArtifacts, `${path}.outputArtifacts`),
    artifactCredentials: parseCredentials(data.artifactCredentials, `${path}.artifactCredentials`)
  };
  if (data.encryptionKey === void 0 || data.encryptionKey === null) {
    delete parsed.encryptionKey;
  } else {
    parsed.encryptionKey = parseEncryptionKey(data.encryptionKey, `${path}.encryptionKey`);
  }
  if (data.continuationToken === void 0 || data.continuationToken === null) {
    delete parsed.continuationToken;
  } else {
    parsed.continuationToken = nonEmptyStringAt(data.continuationToken, `${path}.continuationToken`);
  }
  return parsed;
}
function parseActionConfiguration(value, path) {
  const actionConfiguration = objectAt(value, path);
  const configPath = `${path}.configuration`;
  const configuration = objectAt(actionConfiguration.configuration, configPath);
  const userParameters = configuration.UserParameters;
  return {
    ...actionConfiguration,
    configuration: {
      ...stringEntries(configuration),
      FunctionName: nonEmptyStringAt(configuration.FunctionName, `${configPath}.FunctionName`),
      UserParameters: userParameters === void 0 || userParameters === null ? "" : stringAt(userParameters, `${configPath}.UserParameters`)
    }
  };
}
function stringEntries(object) {
  return Object.fromEntries(Object.entries(object).filter((entry) => typeof entry[1] === "string"));
}
function artifactsAt(value, path) {
  if (!Array.isArray(value)) {
    throw new InvalidJobEventError(path, `must be an array, got ${describe2(value)}`);
  }
  const artifacts = [];
  for (let i = 0; i < value.length; i++) {
    artifacts.push(parseArtifact(value[i], `${path}[${i}]`));
  }
  return artifacts;
}
function parseArtifact(value, path) {
  const artifact = objectAt(value, path);
  const revision = artifact.revision;
  return {
    ...artifact,
    name: nonEmptyStringAt(artifact.name, `${path}.name`),
    revision: revision === void 0 || revision === null ? null : stringAt(revision, `${path}.revision`),
    location: parseLocation(artifact.location, `${path}.location`)
  };
}
function parseLocation(value, path) {
  const location = objectAt(value, path);
  if (location.type !== "S3") {
    throw new InvalidJobEventError(`${path}.type`, `must be "S3", got ${describe2(location.type, true)}`);
  }
  const s3Path = `${path}.s3Location`;
  const s3Location = objectAt(location.s3Location, s3Path);
  return {
    ...location,
    type: "S3",
    s3Location: {
      ...s3Location,
      bucketName: nonEmptyStringAt(s3Location.bucketName, `${s3Path}.bucketName`),
      objectKey: nonEmptyStringAt(s3Location.objectKey, `${s3Path}.objectKey`)
    }
  };
}
function parseEncryptionKey(value, path) {
  const key = objectAt(value, path);
  if (key.type !== "KMS") {
    throw new InvalidJobEventError(`${path}.type`, `must be "KMS", got ${describe2(key.type, true)}`);
  }
  return { ...key, id: nonEmptyStringAt(key.id, `${path}.id`), type: "KMS" };
}
function parseCredentials(value, path) {
  const raw = objectAt(value, path);
  const accessKeyId = nonEmptyStringAt(raw.accessKeyId, `${path}.accessKeyId`);
  const secretAccessKey = nonEmptyStringAt(raw.secretAccessKey, `${path}.secretAccessKey`);
  const sessionToken = raw.sessionToken === void 0 || raw.sessionToken === null ? void 0 : nonEmptyStringAt(raw.sessionToken, `${path}.sessionToken`);
  let expirationTime;
  if (raw.expirationTime !== void 0 && raw.expirationTime !== null) {
    if (typeof raw.expirationTime !== "number" || !Number.isFinite(raw.expirationTime)) {
      throw new InvalidJobEventError(`${path}.expirationTime`, `must be a number (milliseconds since the epoch), got ${describe2(raw.expirationTime)}`);
    }
    expirationTime = raw.expirationTime;
  }
  return redactedCredentials({ accessKeyId, secretAccessKey, sessionToken, expirationTime });
}
var REDACTED2 = "[redacted]";
function redactedCredentials(values) {
  const visible = () => ({
    accessKeyId: values.accessKeyId,
    secretAccessKey: REDACTED2,
    ...values.sessionToken !== void 0 ? { sessionToken: REDACTED2 } : {},
    ...values.expirationTime !== void 0 ? { expirationTime: values.expirationTime } : {}
  });
  const credentials = { accessKeyId: values.accessKeyId };
  if (values.expirationTime !== void 0) {
    credentials.expirationTime = values.expirationTime;
  }
  Object.defineProperty(credentials, "secretAccessKey", { value: values.secretAccessKey, enumerable: false });
  if (values.sessionToken !== void 0) {
    Object.defineProperty(credentials, "sessionToken", { value: values.sessionToken, enumerable: false });
  }
  Object.defineProperty(credentials, "toJSON", { value: visible, enumerable: false });
  Object.defineProperty(credentials, "toString", { value: () => "[ArtifactCredentials]", enumerable: false });
  Object.defineProperty(credentials, Symbol.for("nodejs.util.inspect.custom"), { value: visible, enumerable: false });
  return credentials;
}
function objectAt(value, path) {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidJobEventError(path, `must be an object, got ${describe2(value)}`);
  }
  return value;
}
function stringAt(value, path) {
  if (typeof value !== "string") {
    throw new InvalidJobEventError(path, `must be a string, got ${describe2(value)}`);
  }
  return value;
}
function nonEmptyStringAt(value, path) {
  const text = stringAt(value, path);
  if (text.length === 0) {
    throw new InvalidJobEventError(path, "must be a non-empty string, got an empty string");
  }
  return text;
}
function describe2(value, showString = false) {
  if (value === null) return "null";
  if (value === void 0) return "nothing (the field is missing)";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") {
    if (!showString) return value.length === 0 ? "an empty string" : "a string";
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  }
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}
function findJobId(raw) {
  if (typeof raw !== "object" || raw === null) return void 0;
  const job = raw["CodePipeline.job"];
  if (typeof job !== "object" || job === null) return void 0;
  const id = job.id;
  return typeof id === "string" && id.length > 0 ? id : void 0;
}

// src/runtime/crash-reporter.ts
function failureFromRecord(record) {
  const fields2 = asObject(record);
  if (fields2 === void 0) {
    throw new InvalidJobEventError("", "is not a Lambda invocation record (an object)");
  }
  const { jobId, eventProblem } = jobIdOf(fields2.requestPayload);
  const requestContext = asObject(fields2.requestContext) ?? {};
  const responseContext = asObject(fields2.responseContext) ?? {};
  const response = asObject(fields2.responsePayload) ?? {};
  const requestId = nonEmptyString(requestContext.requestId);
  return {
    jobId,
    failure: {
      type: "JobFailed",
      message: failureMessage(crashMessage(response, responseContext, requestContext)),
      ...requestId !== void 0 && requestId.length <= EXTERNAL_EXECUTION_ID_MAX_LENGTH ? { externalExecutionId: requestId } : {}
    },
    ...eventProblem !== void 0 ? { eventProblem } : {},
    ...nonEmptyString(requestContext.functionArn) !== void 0 ? { functionArn: nonEmptyString(requestContext.functionArn) } : {}
  };
}
function targetOf(crash, targetsJson) {
  return jobResultTargetFor(targetsJson, crash.functionArn);
}
async function handler(record, context) {
  const logger = createJsonLogger({ attributes: { service: "cdk-codepipeline-invoke-crash-reporter" } });
  let crash;
  try {
    crash = failureFromRecord(record);
  } catch (error) {
    if (error instanceof InvalidJobEventError) {
      logger.error("Not a failure record of a CodePipeline job: nothing to report", { error });
      return;
    }
    throw error;
  }
  const jobLogger = withAttributes(logger, { correlationId: crash.jobId });
  if (crash.eventProblem !== void 0) {
    jobLogger.warn("The failed event is not a valid CodePipeline job event; reporting the failure anyway", { problem: crash.eventProblem });
  }
  jobLogger.info("Reporting the crashed job as failed", { failureType: crash.failure.type, failureMessage: crash.failure.message });
  const remaining = context?.getRemainingTimeInMillis?.bind(context);
  const deadline = remaining !== void 0 ? { remainingTimeMs: remaining, reserveMs: 2e3 } : void 0;
  let target = {};
  try {
    target = targetOf(crash, process.env[CRASH_REPORTER_TARGETS_ENV]);
  } catch (error) {
    jobLogger.error("The map of job-result targets is unreadable; reporting in this account and region", { error });
  }
  if (target.roleArn !== void 0 || target.region !== void 0) {
    jobLogger.info("Reporting to the pipeline in another account or region", { ...target });
  }
  await putJobFailure(defaultCodePipelineClient(target), crash.jobId, crash.failure, jobLogger, deadline);
}
function jobIdOf(payload) {
  try {
    return { jobId: parseJobEvent(payload)["CodePipeline.job"].id };
  } catch (error) {
    const jobId = findJobId(payload);
    if (!(error instanceof InvalidJobEventError) || jobId === void 0) {
      throw error instanceof InvalidJobEventError ? new InvalidJobEventError(`requestPayload${error.path === "" ? "" : `.${error.path}`}`, error.problem) : error;
    }
    return { jobId, eventProblem: error.message };
  }
}
function crashMessage(response, responseContext, requestContext) {
  const errorMessage = nonEmptyString(response.errorMessage);
  const errorType = nonEmptyString(response.errorType);
  const functionError = nonEmptyString(responseContext.functionError);
  const condition = nonEmptyString(requestContext.condition);
  const requestId = nonEmptyString(requestContext.requestId);
  const attempts = typeof requestContext.approximateInvokeCount === "number" ? requestContext.approximateInvokeCount : void 0;
  const what = errorMessage !== void 0 ? `Lambda function crashed: ${withoutTimeoutPrefix(errorMessage)}` : condition === "EventAgeExceeded" ? "Lambda function never completed: the event expired before an invocation succeeded" : "Lambda function crashed without an error message";
  const details = [
    errorType !== void 0 && errorType !== "Error" ? errorType : void 0,
    functionError !== void 0 && errorMessage === void 0 ? `function error ${functionError}` : void 0,
    condition !== void 0 ? `condition ${condition}` : void 0,
    attempts !== void 0 ? `${attempts} ${attempts === 1 ? "attempt" : "attempts"}` : void 0,
    requestId !== void 0 ? `request ${requestId}` : void 0
  ].filter((d) => d !== void 0);
  const suffix = details.length > 0 ? ` (${details.join(", ")})` : "";
  return `${truncateWithMarker(what, FAILURE_MESSAGE_MAX_LENGTH - suffix.length)}${suffix}`;
}
function withoutTimeoutPrefix(message) {
  const match = /^\d{4}-\d{2}-\d{2}T\S+Z \S+ (Task timed out after .*)$/s.exec(message);
  return match ? match[1] : message;
}
function asObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value : void 0;
}
function nonEmptyString(value) {
  return typeof value === "string" && value.trim() !== "" ? value : void 0;
}
// Annotate the CommonJS export names for ESM import in node:
0 && (module.exports = {
  handler
});
