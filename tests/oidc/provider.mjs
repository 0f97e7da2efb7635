// A real OpenID Connect provider for the sign-in tests: oidc-provider from npm over HTTPS
// (the test's CA), with one confidential client, gpupool, and accounts whose claims the test
// knows. Its development login form takes any password: the provider's own checks are not
// what is tested here, gpupool's are.
//
// Refresh tokens are issued at every sign-in and rotated at every use, as Keycloak does with
// offline_access; an account marked disabled is not found, so the provider refuses its
// refresh tokens (invalid_grant), as providers do for disabled users.
//
// POST /test/mode {"mode": "normal" | "tamper" | "audience"} makes the token endpoint hand
// out, from then on, an ID token whose claims were changed after signing (its signature no
// longer holds), or one properly signed by the provider's key but for another audience.
// POST /test/account {"account": NAME, "groups": [...], "disabled": true} changes an account.
// Usage: node provider.mjs PORT CERT KEY GPUPOOL_BASE_URL
import https from "node:https";
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";
import { exportJWK, generateKeyPair, SignJWT, decodeJwt, decodeProtectedHeader } from "jose";

const [port, cert, key, gpupool] = process.argv.slice(2);
const issuer = `https://127.0.0.1:${port}`;

const accounts = {
  alice: { groups: ["/research/ml-lab", "physics"], uidNumber: 7001 },
  bob: { groups: ["ml-lab", "gpupool-admins"], uidNumber: 7002 },
  admin: { groups: [], uidNumber: 7003 },
  dave: { groups: ["ml-lab"], uidNumber: 7004 },
};
const disabled = new Set();

const { privateKey } = await generateKeyPair("RS256", { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: "test-key", use: "sig", alg: "RS256" };

const provider = new Provider(issuer, {
  clients: [{
    client_id: "gpupool",
    client_secret: "gpupool-client-secret",
    redirect_uris: [`${gpupool}/api/v1/auth/oidc/callback`],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: ["gpupool-test-cookies"] },
  claims: { openid: ["sub"], profile: ["preferred_username", "name"], groups: ["groups", "uidNumber"] },
  scopes: ["openid", "profile", "groups"],
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed("refresh_token"),
  rotateRefreshToken: true,
  async findAccount(_, id) {
    if (disabled.has(id)) return undefined;
    return {
      accountId: id,
      async claims() {
        const known = accounts[id] ?? { groups: [] };
        return { sub: `subject-${id}`, preferred_username: id, name: id, ...known };
      },
    };
  },
  // Every scope is granted at once: no consent page in the tests' way.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid profile groups");
    await grant.save();
    return grant;
  },
});

let mode = "normal";
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== "/token" || mode === "normal" || !ctx.body?.id_token) return;
  const [header, , signature] = ctx.body.id_token.split(".");
  const claims = decodeJwt(ctx.body.id_token);
  if (mode === "tamper") {
    const changed = Buffer.from(JSON.stringify({ ...claims, preferred_username: "admin" })).toString("base64url");
    ctx.body = { ...ctx.body, id_token: `${header}.${changed}.${signature}` };
  } else if (mode === "audience") {
    const token = await new SignJWT({ ...claims, aud: "another-client", azp: "another-client" })
      .setProtectedHeader(decodeProtectedHeader(ctx.body.id_token))
      .sign(privateKey);
    ctx.body = { ...ctx.body, id_token: token };
  }
});

provider.on("server_error", (_, error) => console.error("provider: server_error", error));
const callback = provider.callback();
https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (request, response) => {
  if (request.method === "POST" && request.url.startsWith("/test/")) {
    let body = "";
    request.on("data", (chunk) => { body += chunk; });
    request.on("end", () => {
      const change = JSON.parse(body);
      if (request.url === "/test/mode") mode = change.mode;
      if (request.url === "/test/account") {
        if (change.groups) accounts[change.account].groups = change.groups;
        if (change.disabled) disabled.add(change.account);
      }
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(change));
    });
    return;
  }
  callback(request, response);
}).listen(Number(port), "127.0.0.1", () => console.log(`provider: ${issuer}`));
