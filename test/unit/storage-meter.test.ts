// The storage meter behind Server-Timing's rt=<n>: parallel calls count once, sequential calls
// each, round trips reported from behind a call add to its cluster, and nothing after stop().
import { describe, expect, it } from "vitest";
import { StorageMeter } from "../../src/lib/storage-meter";

const io = <T>(value: T, ms = 2) => () => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe("StorageMeter", () => {
  it("counts sequential calls one each and parallel calls once", async () => {
    const meter = new StorageMeter();
    await meter.track(io(1));
    await Promise.all([meter.track(io(2)), meter.track(io(3, 5))]);
    await meter.track(io(4));
    expect(meter.summary().roundTrips).toBe(3);
  });

  it("a call issued while another is in flight joins its cluster, even if the first ends before it", async () => {
    const meter = new StorageMeter();
    const first = meter.track(io(1, 1));
    const second = meter.track(io(2, 8));
    await first;
    await meter.track(io(3, 1)); // issued while `second` is still in flight
    await second;
    expect(meter.summary().roundTrips).toBe(1);
  });

  it("adds the round trips a call made behind itself (a Durable Object's batches), the most of its cluster", async () => {
    const meter = new StorageMeter();
    await Promise.all([meter.track(io({ roundTrips: 2 }), (o) => o.roundTrips), meter.track(io({ roundTrips: 0 }), (o) => o.roundTrips)]);
    await meter.track(io(null));
    expect(meter.summary().roundTrips).toBe(4);
  });

  it("stops counting when the response is produced", async () => {
    const meter = new StorageMeter();
    await meter.track(io(1));
    const summary = meter.stop();
    await meter.track(io(2));
    expect(summary.roundTrips).toBe(1);
    expect(meter.summary().roundTrips).toBe(1);
    expect(summary.durationMs).toBeGreaterThanOrEqual(0);
  });
});
