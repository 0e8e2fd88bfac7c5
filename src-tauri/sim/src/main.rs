//! `cti-sim` binary: runs the simulator standalone (replaced by the scenario runner).

fn main() {
    println!("cti-sim {}", env!("CARGO_PKG_VERSION"));
}
