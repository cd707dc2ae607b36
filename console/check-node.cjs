// `make console` runs this first: the build needs Node.js 20.19 or newer (Vite 8).
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`Node.js ${process.versions.node} is too old for the web console: install 20.19 or newer.`);
  process.exit(1);
}
