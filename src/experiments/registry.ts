/** Every experiment `sparsewire experiment <name>` knows. */
import type { Experiment } from "./experiment.js";
import { rewiring } from "./rewiring.js";
import { sparsity } from "./sparsity.js";
import { utility } from "./utility.js";
import { versus } from "./versus.js";
import { recipe } from "./recipe.js";
import { compress } from "./compress.js";
import { recovery, recoveryMnist } from "./recovery.js";
import { setTable, setTableFull } from "./set-table.js";

export const EXPERIMENTS: Experiment[] = [sparsity, rewiring, versus, utility, compress, recipe, recovery, recoveryMnist, setTable, setTableFull];
