//! `cairn pcr predict`: the PCR values a correct boot of an image ends with,
//! computed on the host from the image alone.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;

use super::GlobalArgs;
use crate::output::inspect;
use cairn_boot::{measure, pcr, uki};

#[derive(Debug, Subcommand)]
pub enum PcrCommand {
    /// Print the final PCR 4, PCR 11 and PCR 15 (SHA-256 bank) a boot of
    /// IMAGE must produce.
    ///
    /// PCR 4: the firmware's measurement of the UKI and of the kernel the
    /// stub starts. PCR 11: systemd-stub's measurement of the UKI sections.
    /// PCR 15: cairn-init's boot phases and every container it runs (from
    /// the UKI's `.cairn` plan). See docs/security.md for what each covers.
    #[command(after_help = "Examples:\n  \
        cairn pcr predict minimal-efi.raw\n  \
        cairn pcr predict --json minimal.efi")]
    Predict(PredictArgs),
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A disk image (`-f raw-efi`), a UKI (`-f uki`) or a Raspberry Pi
    /// card (`-f rpi`; PCR 15 only).
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,
    /// Print JSON: {"4": "<hex>", "11": "<hex>", "15": "<hex>"}.
    #[arg(long)]
    pub json: bool,
    /// On a disk with root slots, predict for this UKI of the ESP's
    /// EFI/Linux (e.g. cairn-2+3.efi) instead of the one systemd-boot
    /// starts by default.
    #[arg(long, value_name = "FILE")]
    pub entry: Option<String>,
}

pub fn run(global: &GlobalArgs, cmd: PcrCommand) -> anyhow::Result<()> {
    let _ = global;
    match cmd {
        PcrCommand::Predict(args) => predict(args),
    }
}

fn predict(args: PredictArgs) -> anyhow::Result<()> {
    if let Some(plan) = inspect::card_plan(&args.image)? {
        return predict_card(&args, &plan);
    }
    let chain = inspect::chain_of(&args.image)?;
    let entry = match &args.entry {
        None => &chain.entries[0],
        Some(want) => chain
            .entries
            .iter()
            .find(|e| &e.name == want)
            .ok_or_else(|| {
                crate::exit::CliError::user(format!(
                    "--entry {want}: {} has no such UKI; it has {}",
                    args.image.display(),
                    chain
                        .entries
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
    };
    let image = &entry.uki;
    let p = pcr::predict_chain(chain.manager.as_deref(), image)
        .with_context(|| format!("{} holds a UKI cairn cannot read", args.image.display()))?;
    if !args.json && chain.manager.is_some() {
        println!(
            "entry {} (of {}), started by systemd-boot",
            entry.name,
            chain
                .entries
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let plan = uki::read_section(image, ".cairn")
        .with_context(|| format!("{} holds a UKI cairn cannot read", args.image.display()))?
        .map(|bytes| String::from_utf8_lossy(bytes).into_owned());
    let pcr15 = plan.as_deref().map(measure::predict);
    if args.json {
        let mut out = json!({"4": hex::encode(p.pcr4), "11": hex::encode(p.pcr11)});
        if let Some(v) = pcr15 {
            out[measure::PCR.to_string()] = json!(hex::encode(v));
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("PCR  SHA-256                                                           COVERS");
    println!(
        "4    {}  the boot manager, the UKI and the kernel it starts (firmware)",
        hex::encode(p.pcr4)
    );
    println!(
        "11   {}  the UKI's sections (systemd-stub)",
        hex::encode(p.pcr11)
    );
    match (pcr15, plan) {
        (Some(v), Some(plan)) => println!(
            "{:<4} {}  boot phases and {} containers (cairn-init)",
            measure::PCR,
            hex::encode(v),
            plan.lines()
                .filter(|l| l.starts_with("cairn:container:"))
                .count()
        ),
        _ => println!(
            "{:<4} not extended: this UKI boots the whole system from its initrd, without a measured root",
            measure::PCR
        ),
    }
    Ok(())
}

/// A Raspberry Pi card: only the init measures (PCR 15, with a TPM HAT);
/// no UEFI firmware or stub measures anything before Linux.
fn predict_card(args: &PredictArgs, plan: &str) -> anyhow::Result<()> {
    let pcr15 = hex::encode(measure::predict(plan));
    if args.json {
        let out = json!({measure::PCR.to_string(): pcr15});
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("PCR  SHA-256                                                           COVERS");
    println!(
        "{:<4} {pcr15}  boot phases and {} containers (cairn-init, with a TPM HAT)",
        measure::PCR,
        plan.lines()
            .filter(|l| l.starts_with("cairn:container:"))
            .count()
    );
    println!(
        "\n{} is a Raspberry Pi card: the Pi has no UEFI firmware, so nothing measures the \
         firmware, config.txt, the kernel or the initramfs, and PCR 4, 7 and 11 have no \
         prediction. The root is still verified against cmdline.txt (docs/security.md).",
        args.image.display()
    );
    Ok(())
}
