// Compile a Solidity file with solcjs and print {abi, bytecode} of its contract as JSON (for the Python tests).
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const [file, name] = process.argv.slice(2);
const input = {
  language: "Solidity",
  sources: { [path.basename(file)]: { content: fs.readFileSync(file, "utf8") } },
  settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const contract = output.contracts[path.basename(file)][name];
process.stdout.write(JSON.stringify({ abi: contract.abi, bytecode: "0x" + contract.evm.bytecode.object }));
