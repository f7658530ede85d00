/** Every experiment `sparsewire experiment <name>` knows. */
import type { Experiment } from "./experiment.js";
import { rewiring } from "./rewiring.js";
import { sparsity } from "./sparsity.js";
import { versus } from "./versus.js";

export const EXPERIMENTS: Experiment[] = [sparsity, rewiring, versus];
