//! Typed shortcuts for poking the simulators of a running [`FakeBluez`] from a test.

use crate::sim::{InfiniTime, MiBand, MiBandFaults, MiBandOptions};
use crate::{Error, FakeBluez};

impl FakeBluez {
    /// Sets an InfiniTime's step count; a subscribed central gets a notification.
    pub fn set_step_count(&self, address: &str, steps: u32) -> Result<(), Error> {
        self.with_peripheral(address, |w: &mut InfiniTime, link| {
            w.set_step_count(steps, link)
        })
    }

    /// Reboots an InfiniTime: the link drops and its count restarts at 0.
    pub fn reboot(&self, address: &str) -> Result<(), Error> {
        self.with_peripheral(address, |w: &mut InfiniTime, link| w.reboot(link))
    }

    /// Replaces a Mi Band's faults (connection numbers count from the first connection).
    pub fn set_miband_faults(&self, address: &str, faults: MiBandFaults) -> Result<(), Error> {
        self.with_peripheral(address, |b: &mut MiBand, _| b.set_faults(faults))
    }

    /// Replaces a Mi Band's firmware options.
    pub fn set_miband_options(&self, address: &str, options: MiBandOptions) -> Result<(), Error> {
        self.with_peripheral(address, |b: &mut MiBand, _| b.set_options(options))
    }

    /// How many minutes a Mi Band still stores.
    pub fn miband_stored_minutes(&self, address: &str) -> Result<usize, Error> {
        self.with_peripheral(address, |b: &mut MiBand, _| b.stored_minutes().len())
    }
}
