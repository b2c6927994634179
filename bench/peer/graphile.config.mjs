// PostGraphile 5 (amber preset) over kpss's PostgreSQL database, as the same
// service role under the same row-level security: every request reads all
// regions (a national viewer, as kpss's token --region '*'); a request with
// the header X-Bench-Write (bench/ops.lua sends it on writes) also writes
// all regions, as an editor of '*'. The settings are those kpss sets per
// transaction (crates/persistence/src/dialect.rs, SET_SCOPE).
// PEER_DATABASE_URL, PEER_PORT: set by bench/harness.py.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

export default {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.PEER_DATABASE_URL,
      schemas: ["public"],
      // as many connections as kpss's pool (bench/harness.py sets both)
      poolConfig: { max: Number(process.env.PEER_POOL_SIZE) },
    }),
  ],
  grafserv: { host: "127.0.0.1", port: Number(process.env.PEER_PORT), graphiql: false, watch: false },
  grafast: {
    explain: false,
    context(requestContext) {
      const write = requestContext.node?.req?.headers["x-bench-write"] === "1";
      return {
        pgSettings: { "kpss.read_regions": "*", "kpss.write_regions": write ? "*" : "" },
      };
    },
  },
};
