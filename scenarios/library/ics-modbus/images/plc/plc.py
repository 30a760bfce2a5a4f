"""PLC of water tank T-101: a Modbus TCP server (pymodbus) whose register map comes from a JSON file.

The file (injected per team) names the listener and the initial values of coils, discrete inputs, holding
and input registers (`"address": value`, hex text or numbers), zero-based when `zeroMode` is true. There
is no authentication, as on most real PLCs: whoever reaches port 5020 reads and writes every register.
"""

import json
import logging
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartTcpServer

SIZE = 256


def block(values: dict) -> ModbusSequentialDataBlock:
    data = [0] * SIZE
    for address, value in values.items():
        data[int(address)] = int(value, 0) if isinstance(value, str) else int(value)
    return ModbusSequentialDataBlock(0, data)


def main(path: str) -> None:
    with open(path, encoding="utf-8") as file:
        config = json.load(file)
    server, registers = config["server"], config["registers"]
    level = server.get("logging", {}).get("logLevel", "INFO")
    logging.basicConfig(level=level, format="%(asctime)s %(message)s")
    unit = ModbusSlaveContext(
        di=block(registers.get("discreteInput", {})),
        co=block(registers.get("coils", {})),
        hr=block(registers.get("holdingRegister", {})),
        ir=block(registers.get("inputRegister", {})),
        zero_mode=bool(registers.get("zeroMode", True)),
    )
    address = (server.get("listenerAddress", "0.0.0.0"), int(server.get("listenerPort", 5020)))
    logging.info("PLC T-101 listening on %s:%s", *address)
    StartTcpServer(context=ModbusServerContext(slaves=unit, single=True), address=address)


if __name__ == "__main__":
    main(sys.argv[1])
