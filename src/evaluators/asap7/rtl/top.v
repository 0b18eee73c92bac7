// gem_top: the periphery wired to the mesh. The scratchpad and accumulator SRAM macros sit
// outside, at the sp_* and acc_* ports.
module gem_top (input clk, input rst, input ws, input preload, input last, input accumulate,
  input [${ROW}-1:0] sp_rdata_a, input [${ROW}-1:0] sp_rdata_b, input [${AROW}-1:0] acc_rdata,
  output [${AROW}-1:0] acc_wdata,
  input dma_valid, input [${DMA}-1:0] dma_in, output sp_wvalid, output [${ROW}-1:0] sp_wdata,
  input dma_rd_next, output [${DMA}-1:0] dma_out);
  wire [${R}-1:0] m_last;
  wire [${DIM}*${IB}-1:0] m_a;
  wire [${DIM}*${BW}-1:0] m_b, m_out_b;
  wire [${DIM}*${DW}-1:0] m_d, m_out_d;
  gem_periph u_periph (.clk(clk), .rst(rst), .ws(ws), .preload(preload), .last(last),
    .accumulate(accumulate), .sp_rdata_a(sp_rdata_a), .sp_rdata_b(sp_rdata_b), .acc_rdata(acc_rdata),
    .acc_wdata(acc_wdata), .dma_valid(dma_valid), .dma_in(dma_in), .sp_wvalid(sp_wvalid),
    .sp_wdata(sp_wdata), .dma_rd_next(dma_rd_next), .dma_out(dma_out), .m_last(m_last), .m_a(m_a),
    .m_b(m_b), .m_d(m_d), .m_out_b(m_out_b), .m_out_d(m_out_d));
  gem_mesh u_mesh (.clk(clk), .rst(rst), .ws(ws), .preload(preload), .in_last(m_last), .in_a(m_a),
    .in_b(m_b), .in_d(m_d), .out_b(m_out_b), .out_d(m_out_d));
endmodule
