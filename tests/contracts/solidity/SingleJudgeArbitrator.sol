// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice The ERC-792 arbitrable side, as the arbitrator calls it.
interface IArbitrable {
    function rule(uint256 _disputeID, uint256 _ruling) external;
}

/// @title A second ERC-792 arbitrator for the tests: one judge, a fixed fee, no appeals.
/// @notice Written in Solidity and sharing no code with PanelArbitrator.vy, to show that any ERC-792
///         arbitrator plugs into a product by address alone.
contract SingleJudgeArbitrator {
    enum DisputeStatus { Waiting, Appealable, Solved }

    struct Dispute {
        IArbitrable arbitrable;
        uint256 choices;
        uint256 ruling;
        DisputeStatus status;
    }

    event DisputeCreation(uint256 indexed _disputeID, address indexed _arbitrable);
    event AppealPossible(uint256 indexed _disputeID, address indexed _arbitrable);
    event AppealDecision(uint256 indexed _disputeID, address indexed _arbitrable);

    address public immutable judge;
    uint256 public immutable fee;
    Dispute[] public disputes;

    constructor(address _judge, uint256 _fee) {
        judge = _judge;
        fee = _fee;
    }

    function arbitrationCost(bytes calldata) public view returns (uint256) {
        return fee;
    }

    function appealCost(uint256, bytes calldata) external pure returns (uint256) {
        return type(uint256).max;
    }

    function createDispute(uint256 _choices, bytes calldata _extraData) external payable returns (uint256 disputeID) {
        require(msg.value >= arbitrationCost(_extraData), "SingleJudge: fee not paid");
        disputes.push(Dispute(IArbitrable(msg.sender), _choices, 0, DisputeStatus.Waiting));
        disputeID = disputes.length - 1;
        emit DisputeCreation(disputeID, msg.sender);
    }

    function appeal(uint256, bytes calldata) external payable {
        revert("SingleJudge: no appeals");
    }

    function appealPeriod(uint256) external pure returns (uint256 start, uint256 end) {
        return (0, 0);
    }

    function disputeStatus(uint256 _disputeID) external view returns (DisputeStatus) {
        return disputes[_disputeID].status;
    }

    function currentRuling(uint256 _disputeID) external view returns (uint256) {
        return disputes[_disputeID].ruling;
    }

    /// @notice The judge rules; the arbitrable contract is told at once.
    function giveRuling(uint256 _disputeID, uint256 _ruling) external {
        require(msg.sender == judge, "SingleJudge: not the judge");
        Dispute storage dispute = disputes[_disputeID];
        require(dispute.status == DisputeStatus.Waiting, "SingleJudge: already ruled");
        require(_ruling <= dispute.choices, "SingleJudge: no such ruling");
        dispute.ruling = _ruling;
        dispute.status = DisputeStatus.Solved;
        dispute.arbitrable.rule(_disputeID, _ruling);
    }
}
