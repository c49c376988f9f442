export const id = 797;
export const ids = [797];
export const modules = {

/***/ 4797:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  obtainCertificate: () => (/* binding */ obtainCertificate)
});

// UNUSED EXPORTS: AcmeError

// EXTERNAL MODULE: ./node_modules/acme-client/src/index.js
var src = __webpack_require__(46907);
// EXTERNAL MODULE: external "node:async_hooks"
var external_node_async_hooks_ = __webpack_require__(16698);
// EXTERNAL MODULE: external "node:https"
var external_node_https_ = __webpack_require__(44708);
// EXTERNAL MODULE: external "node:tls"
var external_node_tls_ = __webpack_require__(41692);
// EXTERNAL MODULE: ./src/tls/certificate.ts
var certificate = __webpack_require__(37898);
;// CONCATENATED MODULE: ./src/tls/acme-http.ts
// acme-client sends every request through one module-wide axios instance. This file gives each
// obtainCertificate() call its own settings on it, through AsyncLocalStorage rather than axios'
// global defaults: the CA bundle to trust, a timeout per request, a deadline for the whole call,
// and a record of the problem documents (RFC 7807) the CA answered, because acme-client's own
// errors keep only their `detail` and we want to quote the `type` too.





const calls = new external_node_async_hooks_.AsyncLocalStorage();
let installed = false;
function withCallSettings(config) {
    const call = calls.getStore();
    if (!call)
        return config;
    const left = call.deadline - Date.now();
    // Without a config on it, acme-client's retry interceptor passes this error on untouched.
    if (left <= 0)
        throw new Error('the ACME call ran out of time');
    call.lastUrl = config.url;
    config.httpsAgent = call.agent;
    config.timeout = Math.min(call.requestTimeoutMs, left);
    return config;
}
function recordProblem(response) {
    const call = calls.getStore();
    const data = response.data;
    if (!call || response.status < 400 || typeof data?.type !== 'string')
        return;
    call.problems.push({ status: response.status, type: data.type, detail: String(data.detail ?? ''), url: response.config.url ?? '' });
}
/** Once per process. Also bounds acme-client's own retries of refused connections and 5xx. */
function install() {
    if (installed)
        return;
    installed = true;
    src.axios.interceptors.request.use(withCallSettings);
    // acme-client validates statuses in its own response interceptor, so every response, good or
    // bad, passes this one first.
    src.axios.interceptors.response.use((response) => {
        recordProblem(response);
        return response;
    });
    // Defaults are 5 attempts 5, 10, 15, 20, 25 s apart: 75 s before a stopped CA is reported.
    // A Retry-After from the CA still wins over the default delay.
    const settings = src.axios.defaults.acmeSettings;
    settings.retryMaxAttempts = 2;
    settings.retryDefaultDelay = 1;
}
// acme-client 5.4 turns a request that got no response (refused, timed out, TLS failure) into a
// TypeError of its own, so the socket's own error is recorded here to say what happened.
function recordingAgent(ca, errors) {
    // keepAlive: a dozen requests to one CA; a fresh TLS handshake each costs more than they do.
    const agent = new external_node_https_.Agent({ ca, keepAlive: true, maxSockets: 4 });
    const create = agent.createConnection.bind(agent);
    agent.createConnection = (...args) => {
        const socket = create(...args);
        socket.on('error', (error) => errors.push(error));
        return socket;
    };
    return agent;
}
/** Runs fn with this call's settings on every ACME request it makes; returns it with its context. */
function runAcmeCall(options, fn) {
    install();
    // One entry per certificate: a bundle pasted or concatenated without a newline between two
    // certificates ("-----END CERTIFICATE----------BEGIN ...") is not read whole by OpenSSL.
    const ca = options.caBundle ? [...external_node_tls_.rootCertificates, ...(0,certificate/* parsePemCertificates */.Qc)(options.caBundle, 'acme-ca-bundle').map((c) => c.toString())] : undefined;
    const networkErrors = [];
    const call = {
        agent: recordingAgent(ca, networkErrors),
        networkErrors,
        requestTimeoutMs: options.requestTimeoutMs,
        deadline: Date.now() + options.timeoutMs,
        problems: []
    };
    return calls.run(call, async () => {
        try {
            return await fn(call);
        }
        finally {
            call.agent.destroy();
        }
    });
}

;// CONCATENATED MODULE: ./src/tls/acme.ts



/** An ACME failure; `problem` is the CA's problem document when it sent one. */
class AcmeError extends Error {
    problem;
    constructor(message, problem) {
        super(message);
        this.problem = problem;
        this.name = 'AcmeError';
    }
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function obtainCertificate(options) {
    const names = [...new Set(options.names.map((name) => name.toLowerCase()))];
    if (names.length === 0)
        throw new Error('no names to get a certificate for');
    const timeoutMs = options.timeoutMs ?? 120_000;
    const callOptions = { caBundle: options.caBundle, requestTimeoutMs: options.requestTimeoutMs ?? 15_000, timeoutMs };
    let step = `reading the directory ${options.directoryUrl}`;
    const work = runAcmeCall(callOptions, async (call) => {
        try {
            return await obtain(options, names, call, (next) => (step = next));
        }
        catch (error) {
            throw explain(error, step, call, options);
        }
    });
    return withDeadline(work, timeoutMs + 1000, () => new AcmeError(`ACME: no answer within ${Math.round(timeoutMs / 1000)} s while ${step}`));
}
async function obtain(options, names, call, at) {
    const log = options.log ?? (() => undefined);
    const accountKeyPem = options.accountKeyPem ?? (await src.crypto.createPrivateEcdsaKey('P-256')).toString();
    const client = new src.Client({ directoryUrl: options.directoryUrl, accountKey: accountKeyPem });
    at('creating or finding the ACME account');
    await ensureAccount(client, call, options.email, options.accountKeyPem !== undefined);
    at(`ordering a certificate for ${names.join(', ')}`);
    let order = await client.createOrder({
        identifiers: names.map((value) => ({ type: 'dns', value })),
        ...(options.notAfter ? { notAfter: options.notAfter.toISOString().replace(/\.\d+Z$/, 'Z') } : {})
    });
    log(`order ${order.url}: ${order.status}`);
    await authorize(client, order, options, at);
    at('finalizing the order');
    const [keyBuffer, csr] = await src.crypto.createCsr({ altNames: names, ...(names[0].length <= 64 ? { commonName: names[0] } : {}) }, options.certificateKeyPem);
    order = await client.finalizeOrder(order, csr);
    order = await pollOrder(client, order, options.pollMs ?? 500);
    at('downloading the certificate');
    const certificatePem = await client.getCertificate(order);
    const leaf = (0,certificate/* parsePemCertificates */.Qc)(certificatePem, 'the certificate from the CA')[0];
    return { certificatePem, keyPem: keyBuffer.toString(), accountKeyPem, accountUrl: client.getAccountUrl(), ...issued(leaf, names) };
}
// acme-client's createAccount() turns "this key has an account" into an update with the same data,
// which pebble refuses when it holds nothing to update ("Use POST-as-GET"). So a reused key first
// looks its account up (onlyReturnExisting), and only a new one agrees to the terms.
async function ensureAccount(client, call, email, reused) {
    const contact = email ? { contact: [`mailto:${email}`] } : {};
    if (reused) {
        try {
            await client.createAccount({ onlyReturnExisting: true });
            if (email)
                await client.updateAccount(contact);
            return;
        }
        catch (error) {
            if (call.problems.at(-1)?.type !== 'urn:ietf:params:acme:error:accountDoesNotExist')
                throw error;
        }
    }
    await client.createAccount({ termsOfServiceAgreed: true, ...contact });
}
function issued(leaf, names) {
    const missing = (0,certificate/* missingNames */.JA)(leaf, names);
    if (missing.length > 0)
        throw new AcmeError(`the CA issued a certificate that does not cover ${missing.join(', ')}`);
    const { serial, notAfter } = (0,certificate/* facts */.Ix)(leaf);
    return { serial, notAfter };
}
async function authorize(client, order, options, at) {
    const served = [];
    try {
        for (const authz of await client.getAuthorizations(order)) {
            if (authz.status === 'valid')
                continue; // the CA still trusts an earlier validation
            const challenge = authz.challenges.find((c) => c.type === 'http-01');
            if (!challenge) {
                const offered = authz.challenges.map((c) => c.type).join(', ');
                throw new AcmeError(`the CA offers no http-01 challenge for ${authz.identifier.value} (it offers ${offered || 'none'})`);
            }
            at(`serving the http-01 challenge for ${authz.identifier.value}`);
            await options.challenge.put(challenge.token, await client.getChallengeKeyAuthorization(challenge));
            served.push(challenge.token);
            at(`asking the CA to validate ${authz.identifier.value}`);
            await client.completeChallenge(challenge);
        }
        at(`waiting for the CA to validate ${order.identifiers.map((i) => i.value).join(', ')}`);
        await pollAuthorizations(client, order, options.pollMs ?? 500);
    }
    finally {
        for (const token of served) {
            await options.challenge.remove(token).catch((error) => options.log?.(`could not remove challenge ${token}: ${String(error)}`));
        }
    }
}
async function pollAuthorizations(client, order, pollMs) {
    for (;;) {
        const authzs = await client.getAuthorizations(order);
        const failed = authzs.find((a) => a.status !== 'valid' && a.status !== 'pending');
        if (failed)
            throw authorizationError(failed);
        if (authzs.every((a) => a.status === 'valid'))
            return;
        await sleep(pollMs);
    }
}
function authorizationError(authz) {
    const challenge = authz.challenges.find((c) => c.error);
    const error = challenge?.error;
    const name = authz.identifier.value;
    if (!error)
        return new AcmeError(`the CA set the authorization for ${name} to ${authz.status} without saying why`);
    const problem = { status: error.status ?? 0, type: error.type ?? '', detail: error.detail ?? '', url: challenge?.url ?? '' };
    return new AcmeError(`the CA could not validate ${name} (${challenge?.type}): ${problem.type}: ${problem.detail}`, problem);
}
async function pollOrder(client, order, pollMs) {
    for (;;) {
        if (order.status === 'valid')
            return order;
        if (order.status === 'invalid') {
            const error = order.error;
            throw new AcmeError(`the CA set the order to invalid: ${error?.type ?? 'no type'}: ${error?.detail ?? 'no detail'}`);
        }
        await sleep(pollMs);
        order = await client.getOrder(order);
    }
}
/** The error to throw: what failed, at which step, and what the CA (or the network) said. */
function explain(error, step, call, options) {
    if (error instanceof AcmeError)
        return new AcmeError(`ACME ${step}: ${error.message}`, error.problem);
    const message = error instanceof Error ? error.message : String(error);
    const problem = call.problems.at(-1);
    if (problem && (message === problem.detail.replace(/\n/g, '') || message.includes(problem.type))) {
        return new AcmeError(`ACME ${step}: the CA answered ${problem.status} ${problem.type}: ${problem.detail}`, problem);
    }
    const network = call.networkErrors.at(-1);
    const code = network?.code ?? error.code ?? '';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
        const hint = options.caBundle ? 'acme-ca-bundle does not hold the CA that signed it' : 'give that CA as PEM in acme-ca-bundle';
        return new AcmeError(`acme-directory: the HTTPS certificate of ${options.directoryUrl} is not trusted (${code}); ${hint}`);
    }
    if (network) {
        return new AcmeError(`ACME ${step}: could not reach ${options.directoryUrl} (acme-directory): ${network.message}`);
    }
    // acme-client's TypeError for a request that got no response at all: the timeout fired.
    if (error instanceof TypeError && call.lastUrl) {
        return new AcmeError(`ACME ${step}: no answer from ${call.lastUrl} within ${Math.round(call.requestTimeoutMs / 1000)} s`);
    }
    return new AcmeError(`ACME ${step}: ${message}`);
}
function withDeadline(work, ms, onTimeout) {
    let timer;
    const deadline = new Promise((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
    });
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}


/***/ })

};

//# sourceMappingURL=797.index.js.map