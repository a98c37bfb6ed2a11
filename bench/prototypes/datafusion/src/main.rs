fn main() { println!("use --bin export or --bin query"); }
