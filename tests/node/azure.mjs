// Test-bed helper on the real Azure SDK (@azure/storage-blob) against Azurite. Never shipped.
//
//   node tests/node/azure.mjs ENDPOINT COMMAND ARGS...
//
//   container NAME [--public blob|container]   create a container (idempotent)
//   upload CONTAINER DIR [PREFIX]              upload every file under DIR as PREFIX+relative path
//   put CONTAINER NAME FILE|- [k=v ...] [--content-type T] [--cache-control C] [--tier T]
//                                              upload one blob (from a file or stdin), with
//                                              metadata, properties and an access tier
//   tier CONTAINER NAME TIER                   set a blob's access tier (Hot, Cool, Archive...)
//   rm CONTAINER NAME                          delete one blob
//   sas KIND PERMS [CONTAINER] [--expired] [--tampered] [--ttl SECONDS]
//        KIND account | service; PERMS e.g. rl, r. Prints the token without a leading '?'.
//   sas-url ...                                same as sas, printed as a full container URL
//
// ENDPOINT is path-style, e.g. http://127.0.0.1:10000/devstoreaccount1 (scripts/azurite.sh).
import fs from "node:fs";
import path from "node:path";
import {
    AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, BlobServiceClient,
    ContainerSASPermissions, SASProtocol, StorageSharedKeyCredential,
    generateAccountSASQueryParameters, generateBlobSASQueryParameters,
} from "@azure/storage-blob";

// Azurite's well-known development account (Azurite README).
export const ACCOUNT = "devstoreaccount1";
export const KEY =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const cred = new StorageSharedKeyCredential(ACCOUNT, KEY);

function die(msg) {
    console.error(`azure.mjs: ${msg}`);
    process.exit(2);
}

function* walk(dir, rel = "") {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) yield* walk(dir, r);
        else if (e.isFile()) yield r;
    }
}

// Upload with bounded parallelism: enough to be quick, few enough for Azurite.
async function uploadAll(cc, items, parallel = 16) {
    let next = 0;
    async function worker() {
        while (next < items.length) {
            const [name, file] = items[next++];
            await cc.getBlockBlobClient(name).uploadFile(file);
        }
    }
    await Promise.all(Array.from({ length: parallel }, worker));
}

function makeSas(kind, perms, container, flags) {
    const now = Date.now();
    const ttl = Number(flags.ttl ?? 3600);
    const startsOn = new Date(now - 3600e3);
    const expiresOn = flags.expired ? new Date(now - 600e3) : new Date(now + ttl * 1000);
    let token;
    if (kind === "account") {
        token = generateAccountSASQueryParameters({
            permissions: AccountSASPermissions.parse(perms),
            services: AccountSASServices.parse("b").toString(),
            resourceTypes: AccountSASResourceTypes.parse("sco").toString(),
            protocol: SASProtocol.HttpsAndHttp, startsOn, expiresOn,
        }, cred).toString();
    } else if (kind === "service") {
        if (!container) die("a service SAS needs a container");
        token = generateBlobSASQueryParameters({
            containerName: container, permissions: ContainerSASPermissions.parse(perms),
            protocol: SASProtocol.HttpsAndHttp, startsOn, expiresOn,
        }, cred).toString();
    } else {
        die(`unknown SAS kind ${kind}`);
    }
    if (flags.tampered) {
        // Flip one character of the signature; it stays well-formed base64.
        token = token.replace(/sig=([^&])/, (m, c) => `sig=${c === "A" ? "B" : "A"}`);
    }
    return token;
}

function parseFlags(args) {
    const flags = {}, rest = [];
    for (let i = 0; i < args.length; i++) {
        if (args[i] === "--expired") flags.expired = true;
        else if (args[i] === "--tampered") flags.tampered = true;
        else if (args[i] === "--ttl") flags.ttl = args[++i];
        else if (args[i] === "--public") flags.public = args[++i];
        else if (args[i] === "--content-type") flags.contentType = args[++i];
        else if (args[i] === "--cache-control") flags.cacheControl = args[++i];
        else if (args[i] === "--tier") flags.tier = args[++i];
        else rest.push(args[i]);
    }
    return [flags, rest];
}

async function main() {
    const [endpoint, cmd, ...argv] = process.argv.slice(2);
    if (!endpoint || !cmd) die("usage: azure.mjs ENDPOINT COMMAND ARGS...");
    const [flags, args] = parseFlags(argv);
    const svc = new BlobServiceClient(endpoint, cred);
    switch (cmd) {
    case "container": {
        const cc = svc.getContainerClient(args[0]);
        await cc.createIfNotExists(flags.public ? { access: flags.public } : {});
        break;
    }
    case "upload": {
        const [container, dir, prefix = ""] = args;
        const cc = svc.getContainerClient(container);
        const items = [...walk(dir)].map((r) => [prefix + r, path.join(dir, r)]);
        await uploadAll(cc, items);
        console.log(`uploaded ${items.length} blobs to ${container}`);
        break;
    }
    case "put": {
        const [container, name, file, ...kv] = args;
        const metadata = Object.fromEntries(kv.map((p) => p.split(/=(.*)/s).slice(0, 2)));
        const data = file === "-" ? fs.readFileSync(0) : fs.readFileSync(file);
        await svc.getContainerClient(container).getBlockBlobClient(name)
            .upload(data, data.length, {
                metadata,
                tier: flags.tier,
                blobHTTPHeaders: {
                    blobContentType: flags.contentType, blobCacheControl: flags.cacheControl,
                },
            });
        break;
    }
    case "tier":
        await svc.getContainerClient(args[0]).getBlobClient(args[1]).setAccessTier(args[2]);
        break;
    case "rm":
        await svc.getContainerClient(args[0]).getBlobClient(args[1]).delete();
        break;
    case "sas":
        console.log(makeSas(args[0], args[1], args[2], flags));
        break;
    case "sas-url":
        console.log(`${endpoint}/${args[2]}?${makeSas(args[0], args[1], args[2], flags)}`);
        break;
    default:
        die(`unknown command ${cmd}`);
    }
}

main().catch((e) => die(e.message));
