import { inject } from "vitest";
import { shareClusterWithWorkspaces } from "../../emulator/postgres/address.js";

// Every local workspace a test file starts builds its database in the run's one cluster.
shareClusterWithWorkspaces(inject("postgresCluster"));
