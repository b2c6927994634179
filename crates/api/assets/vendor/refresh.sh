#!/bin/sh
# Refreshes the vendored files in this folder from npm, at the pinned
# versions and integrities below: production builds of GraphiQL (its UMD
# bundle, which carries its own dependencies) and React 18 (the last React
# with UMD builds) for the GraphiQL page, and oauth4webapi (one ES module
# without dependencies) for the pages' sign-in. To move to new versions,
# change them here, run, and commit the files with their new integrities.
set -eu

GRAPHIQL=4.0.2
REACT=18.3.1
OAUTH4WEBAPI=3.8.9
INTEGRITY="
oauth4webapi@$OAUTH4WEBAPI sha512-gyn4jpaxyYFm1epl3mwqc1sFShLjT9eq/63JW+Nvk286Lz6FC72pVv/SyhJHxo+sQiHEcjIHs4TtFKX/+Md07A==
graphiql@$GRAPHIQL sha512-sDDd5/zvocRU5fy1SPI0rVUWoK2pQft2BBV4L2/hW75OzTBSRsuOJRDZL/EHcwxdZ+Fc2XpPLUYQXFvT48GnfQ==
react@$REACT sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==
react-dom@$REACT sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==
"

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

for spec in "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" "oauth4webapi@$OAUTH4WEBAPI"; do
    name=${spec%@*}
    npm pack --silent "$spec" >/dev/null
    want=$(printf '%s\n' "$INTEGRITY" | awk -v s="$spec" '$1 == s { print $2 }')
    got="sha512-$(openssl dgst -sha512 -binary "$name-${spec#*@}.tgz" | base64 -w0)"
    if [ "$got" != "$want" ]; then
        echo "$spec: integrity $got, expected $want" >&2
        exit 1
    fi
    mkdir "$name"
    tar xzf "$name-${spec#*@}.tgz" -C "$name" --strip-components=1
    cp "$name/LICENSE"* "$here/LICENSE.$name"
done

# Without their source-map comments: the maps are not shipped.
strip_map() { sed '/^\/[/*]# sourceMappingURL=/d' "$1" > "$here/$(basename "$1")"; }
strip_map graphiql/graphiql.min.js
strip_map graphiql/graphiql.min.css
strip_map react/umd/react.production.min.js
strip_map react-dom/umd/react-dom.production.min.js
sed '/^\/[/*]# sourceMappingURL=/d' oauth4webapi/build/index.js > "$here/oauth4webapi.js"

# The GraphiQL bundle carries its dependencies: their licences, from the
# tree npm installs for it (graphql and the rest; React is beside it).
mkdir tree && echo "{\"private\": true}" > tree/package.json
(cd tree && npm install --silent --no-save --no-audit --no-fund --ignore-scripts \
    "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null)
node - "$tmp/tree/node_modules" > "$here/LICENSES.bundled.txt" <<'JS'
const fs = require('fs'), path = require('path');
const root = process.argv[2], seen = [];
const walk = (dir) => {
  for (const name of fs.readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const full = path.join(dir, name);
    if (name.startsWith('@')) { walk(full); continue; }
    const pkg = JSON.parse(fs.readFileSync(path.join(full, 'package.json'), 'utf8'));
    const file = fs.readdirSync(full).find((f) => /^(licen[cs]e|copying)/i.test(f));
    seen.push(`${pkg.name}@${pkg.version} (${pkg.license || 'see text'})\n\n` +
      (file ? fs.readFileSync(path.join(full, file), 'utf8').trim() : '(no licence file in the package)'));
    if (fs.existsSync(path.join(full, 'node_modules'))) walk(path.join(full, 'node_modules'));
  }
};
walk(root);
console.log(`Packages of the GraphiQL page's bundles and their licences (${seen.length}).\n`);
console.log(seen.join('\n\n' + '-'.repeat(72) + '\n\n'));
JS

echo "graphiql $GRAPHIQL, react $REACT, react-dom $REACT, oauth4webapi $OAUTH4WEBAPI" > "$here/VERSIONS"
echo "refreshed: $(cat "$here/VERSIONS")"
